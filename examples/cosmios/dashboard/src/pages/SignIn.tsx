/** Sign in, sign up, or a magic link (request it, then paste its token or open the link). */

import { useState, type FormEvent } from 'react';
import { client, remember } from '../session';
import { describe } from '../module';
import { ErrorNote } from '../ui';

type Mode = 'sign-in' | 'sign-up' | 'magic';

export function SignIn(props: { notice: string | null }) {
  const [mode, setMode] = useState<Mode>('sign-in');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [magicToken, setMagicToken] = useState('');
  const [linkSent, setLinkSent] = useState(false);
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<string | null>(props.notice);

  const attempt = async (work: () => Promise<void>) => {
    setPending(true);
    setError(null);
    try {
      await work();
    } catch (e) {
      setError(describe(e));
    } finally {
      setPending(false);
    }
  };

  const submit = (e: FormEvent) => {
    e.preventDefault();
    void attempt(async () => {
      if (mode === 'sign-in') remember(await client.signIn({ email, password }));
      else if (mode === 'sign-up') remember(await client.signUp({ email, password }));
      else if (!linkSent) {
        await client.sendMagicLink(email);
        setLinkSent(true);
      } else remember(await client.verifyMagicLink(magicToken.trim()));
    });
  };

  const choose = (m: Mode) => {
    setMode(m);
    setError(null);
    setLinkSent(false);
  };

  return (
    <main className="auth">
      <h1>COSMIOS</h1>
      <p className="muted">Control your coding agents from any browser.</p>
      <div className="tabs" role="tablist">
        {(['sign-in', 'sign-up', 'magic'] as const).map((m) => (
          <button key={m} type="button" role="tab" aria-selected={mode === m} onClick={() => choose(m)}>
            {m === 'sign-in' ? 'Sign in' : m === 'sign-up' ? 'Sign up' : 'Magic link'}
          </button>
        ))}
      </div>
      <form onSubmit={submit} className="card">
        <label>
          Email
          <input type="email" required autoComplete="email" value={email} onChange={(e) => setEmail(e.target.value)} />
        </label>
        {mode !== 'magic' && (
          <label>
            Password
            <input
              type="password"
              required
              minLength={6}
              autoComplete={mode === 'sign-up' ? 'new-password' : 'current-password'}
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
          </label>
        )}
        {mode === 'magic' && linkSent && (
          <>
            <p className="muted">
              If that address can sign in, a link is on its way: open it, or paste the token it carries.
            </p>
            <label>
              Token from the link
              <input required value={magicToken} onChange={(e) => setMagicToken(e.target.value)} />
            </label>
          </>
        )}
        <ErrorNote message={error} />
        <button type="submit" disabled={pending}>
          {mode === 'sign-in' ? 'Sign in' : mode === 'sign-up' ? 'Create account' : linkSent ? 'Verify' : 'Email me a link'}
        </button>
      </form>
    </main>
  );
}

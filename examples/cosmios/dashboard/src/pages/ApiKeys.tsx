/** User API keys for the REST API (`/api/v1/…`): create (shown once), list, revoke. */

import { useState, type FormEvent } from 'react';
import { useAction, useQuery } from '../module';
import { API_KEYS } from '../queries';
import type { ApiKey } from '../rows';
import { byId, time } from '../format';
import { ErrorNote, Live, Secret } from '../ui';

interface Created {
  id: number;
  label: string;
  api_key: string;
}

export function ApiKeys() {
  const keys = useQuery<ApiKey>(API_KEYS);
  const create = useAction<{ label: string }, Created>('create_api_key');
  const revoke = useAction<{ id: number }>('revoke_api_key');
  const [label, setLabel] = useState('');
  const [created, setCreated] = useState<Created | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const key = await create.run({ label });
    if (key) {
      setCreated(key);
      setLabel('');
    }
  };

  return (
    <>
      <form className="card inline" onSubmit={submit} aria-label="Create an API key">
        <label>
          Key label
          <input required maxLength={100} value={label} onChange={(e) => setLabel(e.target.value)} placeholder="laptop scripts" />
        </label>
        <button type="submit" disabled={create.pending}>
          Create key
        </button>
        <ErrorNote message={create.error} />
      </form>
      {created && (
        <Secret
          label={`API key “${created.label}”`}
          note="only its SHA-256 is stored. Send it as `Authorization: Bearer …` to /api/v1/…"
          value={created.api_key}
          onDone={() => setCreated(null)}
        />
      )}
      <Live query={keys} empty="No API keys: create one to script COSMIOS over its REST API.">
        {(rows) => (
          <ul className="list">
            {byId(rows).map((k) => (
              <li key={k.id}>
                <div className="grow">
                  <strong>{k.label}</strong>
                  <div className="muted small">created {time(k.created_at)}</div>
                </div>
                <button type="button" className="danger" disabled={revoke.pending} onClick={() => void revoke.run({ id: k.id })}>
                  Revoke
                </button>
              </li>
            ))}
          </ul>
        )}
      </Live>
      <ErrorNote message={revoke.error} />
    </>
  );
}

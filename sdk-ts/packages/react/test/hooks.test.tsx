// @vitest-environment jsdom
/**
 * The React hooks in jsdom against the real server: `useQuery` renders live rows and
 * re-renders on other clients' commits, `useReducer` returns the reducer's value, `useIdentity`
 * follows sign-in, row-level security holds per identity, re-renders do not re-subscribe, and
 * unmounting unsubscribes.
 */

import { act, cleanup, render, screen, waitFor } from '@testing-library/react';
import { useState } from 'react';
import { afterAll, afterEach, beforeAll, expect, it, vi } from 'vitest';
import { CosmictronClient, CosmictronError } from '@cosmictron/client';
import { CosmictronProvider, useIdentity, useQuery, useReducer } from '../src/index.js';
import { eventually, startServer, uniqueEmail, uniqueName, type RunningServer } from '../../../test/server.js';

let server: RunningServer;
const clients: CosmictronClient[] = [];

beforeAll(async () => {
  server = await startServer();
});
afterEach(() => cleanup());
afterAll(async () => {
  for (const c of clients) c.close();
  await server?.stop();
});

async function signedUp(): Promise<CosmictronClient> {
  const client = new CosmictronClient(server.wsUrl);
  clients.push(client);
  await client.signUp({ email: uniqueEmail(), password: 'secret' });
  return client;
}

function UserList(props: { onCreated?: (u: unknown) => void }) {
  const users = useQuery<{ id: number; username: string }>('SELECT * FROM users');
  const createUser = useReducer<{ username: string }, { id: number; username: string }>('create_user');
  const identity = useIdentity();
  return (
    <div>
      <p data-testid="identity">{identity ?? 'nobody'}</p>
      <p data-testid="state">{users.loading ? 'loading' : `tx ${users.txId}`}</p>
      <ul>
        {users.rows.map((u) => (
          <li key={u.id}>{u.username}</li>
        ))}
      </ul>
      <button onClick={() => void createUser({ username: 'bob-from-button' }).then(props.onCreated)}>create</button>
    </div>
  );
}

it('renders live rows, calls reducers, and shows only the signed-in identity’s rows', async () => {
  const client = await signedUp();
  const other = await signedUp();
  render(
    <CosmictronProvider client={client}>
      <UserList />
    </CosmictronProvider>,
  );
  expect(screen.getByTestId('identity').textContent).toBe(client.identity);
  await waitFor(() => expect(screen.getByTestId('state').textContent).toMatch(/^tx \d+$/));
  expect(screen.queryAllByRole('listitem')).toHaveLength(0);

  const mine = uniqueName('mine');
  await act(() => client.callReducer('create_user', { username: mine }));
  await waitFor(() => expect(screen.getByText(mine)).toBeTruthy());

  const theirs = uniqueName('theirs');
  await other.callReducer('create_user', { username: theirs });
  const again = uniqueName('again');
  await client.callReducer('create_user', { username: again });
  await waitFor(() => expect(screen.getByText(again)).toBeTruthy());
  expect(screen.queryByText(theirs)).toBeNull();
  expect(screen.getAllByRole('listitem').map((li) => li.textContent)).toEqual(expect.arrayContaining([mine, again]));
  expect(screen.getAllByRole('listitem')).toHaveLength(2);
});

it('useReducer resolves to the return value and rejects with the module error', async () => {
  const client = await signedUp();
  const created: unknown[] = [];
  render(
    <CosmictronProvider client={client}>
      <UserList onCreated={(u) => created.push(u)} />
    </CosmictronProvider>,
  );
  await waitFor(() => expect(screen.getByTestId('state').textContent).toMatch(/^tx/));
  // Only one account in this server may take the name; this test owns it.
  await act(async () => screen.getByText('create').click());
  await eventually(() => created.length === 1, 10_000, 'the reducer result');
  expect(created[0]).toMatchObject({ username: 'bob-from-button' });
  await waitFor(() => expect(screen.getByText('bob-from-button')).toBeTruthy());
  const again = await client.callReducer('create_user', { username: 'bob-from-button' }).catch((e: unknown) => e);
  expect((again as CosmictronError).code).toBe('user_exists');
});

function Messages(props: { session: string; label: string }) {
  // An inline params array: a new array on every render, the same value.
  const messages = useQuery<{ id: number; content: string }>('SELECT * FROM agent_state WHERE session_id = $1', [
    props.session,
  ]);
  return (
    <div data-testid="messages" data-label={props.label}>
      {messages.rows.map((m) => m.content).sort().join(',')}
    </div>
  );
}

it("re-renders on another client's commits without re-subscribing, and unsubscribes on unmount", async () => {
  const client = await signedUp();
  const writer = await signedUp();
  const session = uniqueName('s');
  const subscribe = vi.spyOn(client, 'subscribe');
  let relabel: (l: string) => void = () => undefined;
  function Harness() {
    const [label, setLabel] = useState('a');
    relabel = setLabel;
    return <Messages session={session} label={label} />;
  }
  const view = render(
    <CosmictronProvider client={client}>
      <Harness />
    </CosmictronProvider>,
  );
  await eventually(() => client.subscriptionCount === 1, 10_000, 'the subscription');
  const id = await writer.callReducer<number>('record_agent_message', { session_id: session, role: 'user', content: 'hello' });
  await waitFor(() => expect(screen.getByTestId('messages').textContent).toBe('hello'));
  await writer.callReducer('record_agent_message', { session_id: session, role: 'user', content: 'world' });
  await waitFor(() => expect(screen.getByTestId('messages').textContent).toBe('hello,world'));
  act(() => relabel('b'));
  act(() => relabel('c'));
  expect(screen.getByTestId('messages').dataset.label).toBe('c');
  expect(subscribe).toHaveBeenCalledTimes(1);
  await writer.callReducer('delete_message', { id });
  await waitFor(() => expect(screen.getByTestId('messages').textContent).toBe('world'));

  view.unmount();
  expect(client.subscriptionCount).toBe(0);
});

it('shows an error for a query the server refuses', async () => {
  const client = await signedUp();
  function Broken() {
    const q = useQuery('SELECT * FROM no_such_table');
    return <p data-testid="error">{q.loading ? 'loading' : (q.error?.code ?? 'no error')}</p>;
  }
  render(
    <CosmictronProvider client={client}>
      <Broken />
    </CosmictronProvider>,
  );
  await waitFor(() => expect(screen.getByTestId('error').textContent).not.toBe('loading'));
  expect(screen.getByTestId('error').textContent).not.toBe('no error');
});

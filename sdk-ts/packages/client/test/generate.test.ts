/**
 * Typed bindings: `cosmictron generate --lang ts` against the running server writes
 * `quickstart.ts`; a program using it type-checks under `tsc --strict` (and a wrong argument
 * type is a compile error), and its reducer functions call the real server.
 */

import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CosmictronClient } from '../src/index.js';
import { repoRoot, serverBinary } from '../../../test/paths.js';
import { startServer, uniqueEmail, uniqueName, type RunningServer } from '../../../test/server.js';

// Inside sdk-ts so that `@cosmictron/client` resolves to the workspace package.
const out = join(repoRoot, 'sdk-ts', 'test', '.generated');
let server: RunningServer;
let client: CosmictronClient;

beforeAll(async () => {
  server = await startServer();
  client = new CosmictronClient(server.wsUrl);
  await client.signUp({ email: uniqueEmail(), password: 'secret' });
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  execFileSync(
    serverBinary(),
    ['generate', '--lang', 'ts', '--module', 'quickstart', '--out', out, '--server', server.httpUrl, '--token', client.token!],
    { encoding: 'utf8' },
  );
});

afterAll(async () => {
  client?.close();
  await server?.stop();
});

it('writes row interfaces for every table and typed reducer functions', () => {
  const text = readFileSync(join(out, 'quickstart.ts'), 'utf8');
  expect(text).toContain('export interface UsersRow {');
  expect(text).toContain('  username: string;');
  expect(text).toContain('  owner_id: string;');
  expect(text).toContain('export interface AgentStateRow {');
  expect(text).toContain('export interface CreateUserArgs {\n  username: string;\n}');
  expect(text).toContain('export interface RecordAgentMessageArgs {');
  expect(text).toContain('export const MODULE = "quickstart";');
  expect(text).toContain('create_user: (client: CosmictronClient, args: CreateUserArgs): Promise<UsersRow> =>');
  expect(text).toContain('delete_message: (client: CosmictronClient, args: DeleteMessageArgs): Promise<boolean> =>');
});

it('the bindings type-check under strict TypeScript and reject a wrong argument type', () => {
  writeFileSync(
    join(out, 'use.ts'),
    `import { CosmictronClient } from '@cosmictron/client';
import { reducers, type UsersRow, type Tables } from './quickstart.js';
export async function use(client: CosmictronClient): Promise<string> {
  // The return type comes from the module: create_user returns the new users row.
  const user: UsersRow = await reducers.create_user(client, { username: 'typed' });
  const id: number | string = await reducers.record_agent_message(client, { session_id: 's', role: 'user', content: 'x' });
  const existed: boolean = await reducers.delete_message(client, { id });
  const sub = await client.subscribe<Tables['users']>('SELECT * FROM users');
  // @ts-expect-error: username is a string
  await reducers.create_user(client, { username: 42 });
  // @ts-expect-error: delete_message resolves to a boolean, not a row
  const wrong: UsersRow = await reducers.delete_message(client, { id });
  return user.username + String(existed) + String(wrong) + sub.rows.map((u) => u.owner_id).join();
}
`,
  );
  writeFileSync(
    join(out, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, target: 'ES2022', module: 'ES2022', moduleResolution: 'Bundler', lib: ['ES2022', 'DOM'], types: [] },
      include: ['*.ts'],
    }),
  );
  const tsc = join(repoRoot, 'sdk-ts', 'node_modules', '.bin', 'tsc');
  let output = '';
  try {
    output = execFileSync(tsc, ['-p', out], { encoding: 'utf8' });
  } catch (e) {
    output = String((e as { stdout?: string }).stdout ?? e);
  }
  expect(output).toBe('');
});

it('the generated reducer functions call the server', async () => {
  type Reducer = <R>(client: CosmictronClient, args: Record<string, unknown>) => Promise<R>;
  const { reducers } = (await import(join(out, 'quickstart.ts'))) as { reducers: Record<string, Reducer> };
  const username = uniqueName('gen');
  const user = await reducers.create_user!<{ username: string }>(client, { username });
  expect(user.username).toBe(username);
  const id = await reducers.record_agent_message!<number>(client, { session_id: 's', role: 'user', content: 'typed' });
  expect(await reducers.delete_message!<boolean>(client, { id })).toBe(true);
});

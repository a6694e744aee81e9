/**
 * The real machine runner for the browser tests: the `cosmios` binary, registered with
 * `cosmios register` into a temporary config file and started with `cosmios start`, with a
 * stub shell script in place of the coding agents. Nothing here calls the module itself: the
 * binary does, exactly as on a user's machine.
 */

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from './server.js';

const run = promisify(execFile);

/**
 * `COSMIOS_BIN`, else the `cosmios` beside `COSMICTRON_BIN` (`cargo test --workspace` builds
 * both into the same directory), else this checkout's debug build.
 */
export function cosmiosBinary(): string {
  const target = process.env.CARGO_TARGET_DIR ? resolve(repoRoot, process.env.CARGO_TARGET_DIR) : join(repoRoot, 'target');
  const server = process.env.COSMICTRON_BIN;
  const path = process.env.COSMIOS_BIN ?? (server ? join(dirname(server), 'cosmios') : join(target, 'debug', 'cosmios'));
  if (!existsSync(path)) {
    throw new Error(`no cosmios runner binary at ${path}: build it with \`cargo build -p cosmios-runner\` (or set COSMIOS_BIN)`);
  }
  return path;
}

/**
 * A stand-in for `claude -p TASK`, called as `agent.sh AGENT TASK`: the task it was given on
 * stderr (one `task> ` line per line, so a mission card's context can be read in the page),
 * three numbered stdout lines with pauses between them (so a test can see lines arrive while
 * the run is still running), then `done: INSTRUCTION` and exit 0. The runner makes the last
 * stdout lines the run's summary.
 */
const STUB_AGENT = `#!/bin/sh
agent="$1"
task="$2"
printf '%s\\n' "$task" | sed 's/^/task> /' >&2
for i in 1 2 3; do
  echo "$agent step $i of 3"
  sleep 0.4
done
echo "done: $(printf '%s\\n' "$task" | tail -n 1 | sed 's/^Task: //')"
`;

/** A temporary home for one machine: the config file, the stub agent and a workspace. */
export class MachineDir {
  readonly root = mkdtempSync(join(tmpdir(), 'cosmios-runner-'));
  readonly config = join(this.root, 'config', 'config.json');
  readonly agent = join(this.root, 'agent.sh');
  readonly workspace = join(this.root, 'ws');

  constructor() {
    writeFileSync(this.agent, STUB_AGENT);
    chmodSync(this.agent, 0o755);
    mkdirSync(this.workspace);
  }

  /** `cosmios register`, non-interactively (the key as a flag, not on standard input). */
  async register(server: string, apiKey: string): Promise<void> {
    await run(cosmiosBinary(), ['--config', this.config, 'register', '--server', server, '--api-key', apiKey], {
      timeout: 30_000,
    });
  }

  /** `cosmios start` with the stub for both agents and short intervals (a test waits for them). */
  start(): RealRunner {
    const child = spawn(
      cosmiosBinary(),
      [
        '--config',
        this.config,
        'start',
        '--agent-command',
        `claude-code=${this.agent} claude-code`,
        '--agent-command',
        `codex=${this.agent} codex`,
        '--heartbeat-ms',
        '300',
        '--log-flush-ms',
        '20',
        '--kill-grace-ms',
        '1000',
        '--reconnect-max-ms',
        '300',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, RUST_LOG: 'info' } },
    );
    return new RealRunner(child);
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** A running `cosmios start`; what it logged is kept for failure messages. */
export class RealRunner {
  private output = '';
  /** The exit code (null after a signal), once it has exited. */
  readonly exited: Promise<number | null>;

  constructor(private readonly child: ChildProcess) {
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      this.output = (this.output + chunk).slice(-50_000);
    });
    this.exited = new Promise((done) => child.once('exit', (code) => done(code)));
  }

  /** What the runner logged so far. */
  log(): string {
    return this.output;
  }

  /** SIGTERM, as systemd or `kill` would: the runner closes its connection and exits 0. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    return this.exited;
  }

  /** For cleanup after a failure: no waiting on a graceful exit. */
  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

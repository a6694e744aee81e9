/**
 * A stand-in for the machine runner (`cosmios start`), driven by the test: an anonymous
 * identity that authenticates with the machine's API key over the client SDK and then makes
 * the calls a runner makes, each when the test says (to time a commit, or to stage a state on
 * cue). `real-runner.ts` starts the real `cosmios` binary instead.
 */

import WebSocket from 'ws';
import { CosmictronClient, type WebSocketConstructor } from '@cosmictron/client';

const MODULE = { module: 'cosmios' } as const;

export interface PendingRun {
  id: number;
  task: string;
  card_id: number | null;
}

export class SimulatedRunner {
  private constructor(
    private readonly client: CosmictronClient,
    readonly machineId: number,
  ) {}

  /** Signs in anonymously and proves it holds the key: the machine goes online. */
  static async start(url: string, apiKey: string): Promise<SimulatedRunner> {
    const client = new CosmictronClient(url, { WebSocket: WebSocket as unknown as WebSocketConstructor, reconnect: false });
    await client.signInAnonymously();
    const { machine_id } = await client.callReducer<{ machine_id: number }>('authenticate_runner', { api_key: apiKey }, MODULE);
    return new SimulatedRunner(client, machine_id);
  }

  heartbeat(metrics: Record<string, unknown>): Promise<unknown> {
    return this.client.callReducer('heartbeat', { metrics }, MODULE);
  }

  /** Waits for a pending run to be dispatched to this machine, through a live query. */
  async nextPendingRun(timeoutMs = 10_000): Promise<PendingRun> {
    const sub = await this.client.subscribe<PendingRun>(
      "SELECT id, task, card_id FROM runs WHERE status = 'pending'",
      [],
      MODULE,
    );
    try {
      const first = sub.rows[0];
      if (first) return first;
      return await new Promise<PendingRun>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no pending run was dispatched')), timeoutMs);
        sub.on('update', (e) => {
          const run = e.rows[0];
          if (run) {
            clearTimeout(timer);
            resolve(run);
          }
        });
      });
    } finally {
      await sub.unsubscribe();
    }
  }

  claim(run: number): Promise<unknown> {
    return this.client.callReducer('claim_run', { run }, MODULE);
  }

  snapshot(run: number, commit: string): Promise<unknown> {
    return this.client.callReducer('record_snapshot', { run, commit }, MODULE);
  }

  log(run: number, lines: string[], stream: 'stdout' | 'stderr' | 'system' = 'stdout'): Promise<unknown> {
    return this.client.callReducer('append_log', { run, lines: lines.map((line) => ({ stream, line })) }, MODULE);
  }

  complete(run: number, summary: string): Promise<unknown> {
    return this.client.callReducer('complete_run', { run, exit_code: 0, summary }, MODULE);
  }

  requestApproval(run: number, message: string): Promise<number> {
    return this.client.callReducer<number>('request_approval', { run, message }, MODULE);
  }

  addActionItem(card: number, text: string): Promise<unknown> {
    return this.client.callReducer('add_action_item', { card, text }, MODULE);
  }

  /** Closes the runner's connection (its machine goes offline). */
  stop(): void {
    this.client.close();
  }
}

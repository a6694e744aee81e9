/**
 * The rows the dashboard reads from the `cosmios` module, as the server sends them: ids as
 * numbers, identities as hex strings, timestamps in microseconds since the epoch, missing
 * values as null. Each interface lists only the columns its queries select.
 */

export interface Machine {
  id: number;
  name: string;
  enabled: boolean;
  online: boolean;
  last_seen: number | null;
  /** The last heartbeat's metrics, a JSON object as text. */
  metrics: string;
}

export type RunStatus = 'pending' | 'running' | 'completed' | 'failed' | 'cancelled';

export interface Run {
  id: number;
  machine_id: number;
  agent: string;
  workspace: string;
  task: string;
  status: RunStatus;
  exit_code: number | null;
  error: string | null;
  summary: string | null;
  snapshot_commit: string | null;
  /** `requested`, `done` or `failed` once a rollback was asked for. */
  rollback: string | null;
  mission_id: number | null;
  created_at: number;
  finished_at: number | null;
}

export interface LogLine {
  id: number;
  stream: 'stdout' | 'stderr' | 'system';
  line: string;
}

export interface TimelineEvent {
  id: number;
  kind: string;
  machine_id: number | null;
  run_id: number | null;
  message: string;
  /** For `approval.requested`: `pending`, `approved` or `rejected`. */
  approval: string | null;
  created_at: number;
}

export interface Mission {
  id: number;
  title: string;
  workspace: string;
  machine_id: number | null;
  status: 'draft' | 'running' | 'paused' | 'completed';
  created_at: number;
}

export interface Card {
  id: number;
  mission_id: number;
  position: number;
  instruction: string;
  agent: string;
  status: 'pending' | 'running' | 'completed' | 'failed';
  run_id: number | null;
  summary: string | null;
}

export interface ActionItem {
  id: number;
  card_id: number;
  text: string;
  done: boolean;
}

export interface Webhook {
  id: number;
  url: string;
  /** Comma-separated event kinds. */
  events: string;
  created_at: number;
}

export interface Delivery {
  id: number;
  webhook_id: number;
  event: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  created_at: number;
}

export interface ApiKey {
  id: number;
  label: string;
  created_at: number;
}

export const AGENTS = ['claude-code', 'codex'] as const;

/** The timeline kinds a webhook may subscribe to (the module's `WEBHOOK_EVENTS`). */
export const WEBHOOK_EVENTS = [
  'run.completed',
  'run.failed',
  'approval.requested',
  'machine.offline',
  'machine.online',
  'event.critical',
] as const;

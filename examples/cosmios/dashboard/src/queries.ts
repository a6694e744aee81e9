/**
 * The SQL behind the pages. Each is a live query: the server re-evaluates it incrementally per
 * committed transaction and sends only the changed rows, filtered by the module's row-level
 * security (`owner = $identity`), so no query needs to name the user.
 */

export const MACHINES = 'SELECT id, name, enabled, online, last_seen, metrics FROM machines';

const RUN_COLUMNS =
  'id, machine_id, agent, workspace, task, status, exit_code, error, summary, snapshot_commit, rollback, mission_id, created_at, finished_at';

/** The newest runs, optionally of one status and/or machine (a live top-k). */
export function runs(filter: { status: string; machine: number | null }): { sql: string; params: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  if (filter.status) {
    params.push(filter.status);
    where.push(`status = $${params.length}`);
  }
  if (filter.machine !== null) {
    params.push(filter.machine);
    where.push(`machine_id = $${params.length}`);
  }
  const clause = where.length ? ` WHERE ${where.join(' AND ')}` : '';
  return { sql: `SELECT ${RUN_COLUMNS} FROM runs${clause} ORDER BY id DESC LIMIT 100`, params };
}

export const RUN = `SELECT ${RUN_COLUMNS} FROM runs WHERE id = $1`;
export const RUNS_IN_PROGRESS = `SELECT ${RUN_COLUMNS} FROM runs WHERE status = 'running' OR status = 'pending'`;
export const LOG = 'SELECT id, stream, line FROM event WHERE run_id = $1';

export const TIMELINE = 'SELECT id, kind, machine_id, run_id, message, approval, created_at FROM timeline ORDER BY id DESC LIMIT 200';
export const PENDING_APPROVALS =
  "SELECT id, kind, machine_id, run_id, message, approval, created_at FROM timeline WHERE approval = 'pending'";

export const MISSIONS = 'SELECT id, title, workspace, machine_id, status, created_at FROM missions';
export const MISSION = 'SELECT id, title, workspace, machine_id, status, created_at FROM missions WHERE id = $1';
export const CARDS = 'SELECT id, mission_id, position, instruction, agent, status, run_id, summary FROM cards WHERE mission_id = $1';
export const ACTION_ITEMS = 'SELECT id, card_id, text, done FROM action_items';
export const OPEN_ACTION_ITEMS = 'SELECT id, card_id, text, done FROM action_items WHERE done = false';

export const WEBHOOKS = 'SELECT id, url, events, created_at FROM webhooks';
export const DELIVERIES =
  'SELECT id, webhook_id, event, status, attempts, created_at FROM webhook_deliveries ORDER BY id DESC LIMIT 100';
export const API_KEYS = 'SELECT id, label, created_at FROM api_keys';

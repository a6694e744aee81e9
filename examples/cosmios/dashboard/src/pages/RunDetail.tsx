/** One run: its state, cancel and rollback, and its live terminal. */

import { useAction, useQuery } from '../module';
import { MACHINES, RUN } from '../queries';
import type { Machine, Run } from '../rows';
import { time } from '../format';
import { href } from '../route';
import { Badge, ErrorNote, Live } from '../ui';
import { Terminal } from './Terminal';

export function RunDetail(props: { id: number }) {
  const run = useQuery<Run>(RUN, [props.id]);
  return (
    <>
      <p>
        <a href="#/runs">← Tasks</a>
      </p>
      <Live query={run} empty={`No run ${props.id} of yours.`}>
        {(rows) => rows[0] && <RunView run={rows[0]} />}
      </Live>
    </>
  );
}

function RunView(props: { run: Run }) {
  const r = props.run;
  const machines = useQuery<Machine>(MACHINES);
  const cancel = useAction<{ run: number }>('cancel_run');
  const rollback = useAction<{ run: number }>('request_rollback');
  const machine = machines.rows.find((m) => m.id === r.machine_id);
  const active = r.status === 'pending' || r.status === 'running';

  return (
    <>
      <h1>
        Run #{r.id} <Badge status={r.status} />
      </h1>
      <dl className="facts">
        <dt>Machine</dt>
        <dd>{machine?.name ?? (machines.loading ? '…' : `machine ${r.machine_id}`)}</dd>
        <dt>Agent</dt>
        <dd>{r.agent}</dd>
        <dt>Workspace</dt>
        <dd>
          <code>{r.workspace}</code>
        </dd>
        <dt>Dispatched</dt>
        <dd>{time(r.created_at)}</dd>
        {r.finished_at !== null && (
          <>
            <dt>Finished</dt>
            <dd>
              {time(r.finished_at)}
              {r.exit_code !== null && <> · exit {r.exit_code}</>}
            </dd>
          </>
        )}
        {r.snapshot_commit && (
          <>
            <dt>Snapshot</dt>
            <dd>
              <code>{r.snapshot_commit.slice(0, 12)}</code>
              {r.rollback && <> · rollback <Badge status={r.rollback} /></>}
            </dd>
          </>
        )}
        {r.mission_id !== null && (
          <>
            <dt>Mission</dt>
            <dd>
              <a href={href({ page: 'mission', id: r.mission_id })}>#{r.mission_id}</a>
            </dd>
          </>
        )}
      </dl>
      <pre className="task">{r.task}</pre>
      {r.summary && <p className="summary">{r.summary}</p>}
      {r.error && <p className="error">{r.error}</p>}
      <div className="row">
        {active && (
          <button type="button" className="danger" disabled={cancel.pending} onClick={() => void cancel.run({ run: r.id })}>
            Cancel
          </button>
        )}
        {!active && r.snapshot_commit && r.rollback !== 'requested' && (
          <button type="button" disabled={rollback.pending} onClick={() => void rollback.run({ run: r.id })}>
            Rollback to snapshot
          </button>
        )}
      </div>
      <ErrorNote message={cancel.error ?? rollback.error} />
      <h2>Terminal</h2>
      <Terminal runId={r.id} />
    </>
  );
}

/** What needs attention: machines, runs in progress, approvals waiting, open action items. */

import { useQuery } from '../module';
import { MACHINES, OPEN_ACTION_ITEMS, PENDING_APPROVALS, RUNS_IN_PROGRESS } from '../queries';
import type { ActionItem, Machine, Run, TimelineEvent } from '../rows';
import { byId } from '../format';
import { href } from '../route';
import { Badge, Live } from '../ui';
import { ApprovalButtons } from './Events';

export function Overview() {
  const machines = useQuery<Machine>(MACHINES);
  const runs = useQuery<Run>(RUNS_IN_PROGRESS);
  const approvals = useQuery<TimelineEvent>(PENDING_APPROVALS);
  const items = useQuery<ActionItem>(OPEN_ACTION_ITEMS);
  const online = machines.rows.filter((m) => m.online).length;
  const count = (loading: boolean, n: number) => (loading ? '…' : String(n));

  return (
    <>
      <h1>Overview</h1>
      <section className="stats" aria-label="Summary">
        <Stat label="Machines online" value={count(machines.loading, online)} testId="stat-online" />
        <Stat label="Machines offline" value={count(machines.loading, machines.rows.length - online)} testId="stat-offline" />
        <Stat label="Runs in progress" value={count(runs.loading, runs.rows.length)} testId="stat-runs" />
        <Stat label="Pending approvals" value={count(approvals.loading, approvals.rows.length)} testId="stat-approvals" />
        <Stat label="Open action items" value={count(items.loading, items.rows.length)} testId="stat-items" />
      </section>
      <section>
        <h2>Runs in progress</h2>
        <Live query={runs} empty={<>Nothing running. Dispatch a task from <a href="#/runs">Tasks</a>.</>}>
          {(rows) => (
            <ul className="list">
              {byId(rows, 'desc').map((r) => (
                <li key={r.id}>
                  <a href={href({ page: 'run', id: r.id })}>
                    #{r.id} {r.task.split('\n').pop()}
                  </a>
                  <Badge status={r.status} />
                </li>
              ))}
            </ul>
          )}
        </Live>
      </section>
      <section>
        <h2>Pending approvals</h2>
        <Live query={approvals} empty="No agent is waiting for you.">
          {(rows) => (
            <ul className="list">
              {byId(rows).map((e) => (
                <li key={e.id}>
                  <span>{e.message}</span>
                  <ApprovalButtons event={e} />
                </li>
              ))}
            </ul>
          )}
        </Live>
      </section>
      <section>
        <h2>Open action items</h2>
        <Live query={items} empty="Nothing for you to do by hand.">
          {(rows) => (
            <ul className="list">
              {byId(rows).map((i) => (
                <li key={i.id}>{i.text}</li>
              ))}
            </ul>
          )}
        </Live>
      </section>
    </>
  );
}

function Stat(props: { label: string; value: string; testId: string }) {
  return (
    <div className="stat">
      <span className="value" data-testid={props.testId}>
        {props.value}
      </span>
      <span className="label">{props.label}</span>
    </div>
  );
}

/** The timeline, newest first, with approve/reject on approval requests. */

import { useAction, useQuery } from '../module';
import { TIMELINE } from '../queries';
import type { TimelineEvent } from '../rows';
import { byId, time } from '../format';
import { href } from '../route';
import { Badge, ErrorNote, Live } from '../ui';

export function Events() {
  const timeline = useQuery<TimelineEvent>(TIMELINE);
  return (
    <>
      <h1>Events</h1>
      <Live query={timeline} empty="No events yet: runs, machines and approvals show up here as they happen.">
        {(rows) => (
          <ul className="list timeline">
            {byId(rows, 'desc').map((e) => (
              <li key={e.id} data-testid={`event-${e.id}`}>
                <div className="grow">
                  <Badge status={e.kind} /> {e.message}
                  <div className="muted small">
                    {time(e.created_at)}
                    {e.run_id !== null && (
                      <>
                        {' · '}
                        <a href={href({ page: 'run', id: e.run_id })}>run #{e.run_id}</a>
                      </>
                    )}
                  </div>
                </div>
                {e.approval !== null && <ApprovalButtons event={e} />}
              </li>
            ))}
          </ul>
        )}
      </Live>
    </>
  );
}

/** Approve/Reject for a pending request; the decision once made. */
export function ApprovalButtons(props: { event: TimelineEvent }) {
  const approve = useAction<{ event: number }>('approve_event');
  const reject = useAction<{ event: number }>('reject_event');
  const e = props.event;
  if (e.approval !== 'pending') return <Badge status={e.approval ?? 'none'} />;
  const busy = approve.pending || reject.pending;
  return (
    <div className="row">
      <button type="button" disabled={busy} onClick={() => void approve.run({ event: e.id })}>
        Approve
      </button>
      <button type="button" className="danger" disabled={busy} onClick={() => void reject.run({ event: e.id })}>
        Reject
      </button>
      <ErrorNote message={approve.error ?? reject.error} />
    </div>
  );
}

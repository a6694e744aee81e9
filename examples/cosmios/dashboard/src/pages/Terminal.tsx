/**
 * A run's output as it commits: a live query on the run's `event` rows, in id order. Follows
 * the end while the reader is at the bottom; scrolling up stops following.
 */

import { useLayoutEffect, useRef } from 'react';
import { useQuery } from '../module';
import { LOG } from '../queries';
import type { LogLine } from '../rows';
import { byId } from '../format';
import { Live } from '../ui';

export function Terminal(props: { runId: number }) {
  const log = useQuery<LogLine>(LOG, [props.runId]);
  const box = useRef<HTMLDivElement>(null);
  const following = useRef(true);

  useLayoutEffect(() => {
    const el = box.current;
    if (el && following.current) el.scrollTop = el.scrollHeight;
  }, [log.rows]);

  const onScroll = () => {
    const el = box.current;
    if (el) following.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
  };

  return (
    <div className="terminal" ref={box} onScroll={onScroll} role="log" aria-label={`Output of run ${props.runId}`}>
      <Live query={log} empty={<span className="muted">Waiting for output…</span>}>
        {(rows) =>
          byId(rows).map((l) => (
            <div key={l.id} className={`line ${l.stream}`}>
              {l.line}
            </div>
          ))
        }
      </Live>
    </div>
  );
}

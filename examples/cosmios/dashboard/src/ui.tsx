/** Small shared pieces: the states every list has (loading, empty, error), badges, copy. */

import { useState, type ReactNode } from 'react';
import type { QueryState } from '@cosmictron/react';
import { describe } from './module';

/**
 * Renders `children(rows)` once a live query has rows; otherwise its loading, error or empty
 * state. An error keeps the last rows visible below it (a dropped subscription is not data loss).
 */
export function Live<T extends object>(props: {
  query: QueryState<T>;
  empty: ReactNode;
  children: (rows: readonly T[]) => ReactNode;
}) {
  const { rows, loading, error } = props.query;
  if (loading && rows.length === 0) return <p className="muted" role="status">Loading…</p>;
  // Rows of a previous query stay visible, dimmed, while a changed query (a new filter) loads.
  return (
    <div className="live" aria-busy={loading}>
      {error && <ErrorNote message={`Live updates stopped: ${describe(error)}`} />}
      {rows.length === 0 ? <div className="empty">{props.empty}</div> : props.children(rows)}
    </div>
  );
}

export function ErrorNote(props: { message: string | null }) {
  if (!props.message) return null;
  return (
    <p className="error" role="alert">
      {props.message}
    </p>
  );
}

/** A status word with its colour (`running`, `online`, `pending`, …). */
export function Badge(props: { status: string }) {
  return <span className={`badge badge-${props.status.replace(/\W/g, '-')}`}>{props.status}</span>;
}

/** A secret shown once, with a copy button. */
export function Secret(props: { label: string; note: string; value: string; onDone: () => void }) {
  const [copied, setCopied] = useState<'yes' | 'failed' | null>(null);
  const copy = () => {
    navigator.clipboard.writeText(props.value).then(
      () => setCopied('yes'),
      () => setCopied('failed'),
    );
  };
  return (
    <div className="secret" role="region" aria-label={props.label}>
      <p>
        <strong>{props.label}</strong> — shown this once: {props.note}
      </p>
      <code data-testid="secret-value">{props.value}</code>
      <div className="row">
        <button type="button" onClick={copy}>
          {copied === 'yes' ? 'Copied' : 'Copy'}
        </button>
        <button type="button" className="quiet" onClick={props.onDone}>
          I saved it
        </button>
      </div>
      {copied === 'failed' && <p className="muted">Copying was refused by the browser: select the text instead.</p>}
    </div>
  );
}

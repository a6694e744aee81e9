/** Display helpers: times (the server's microseconds) and machine metrics. */

/** `14:03:07` today, `Mar 7, 14:03` on other days. */
export function time(micros: number | null): string {
  if (micros === null) return '—';
  const d = new Date(micros / 1000);
  const today = new Date().toDateString() === d.toDateString();
  return today
    ? d.toLocaleTimeString(undefined, { hour12: false })
    : d.toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hour12: false });
}

/** `cpu 31% · mem 2048 MB` from a heartbeat's metrics; unknown keys are shown as they are. */
export function metrics(json: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return '';
  }
  if (typeof parsed !== 'object' || parsed === null) return '';
  return Object.entries(parsed as Record<string, unknown>)
    .map(([key, value]) => {
      if (key === 'cpu' && typeof value === 'number' && value <= 1) return `cpu ${Math.round(value * 100)}%`;
      if (key === 'mem_mb' && typeof value === 'number') return `mem ${value} MB`;
      return `${key} ${typeof value === 'object' ? JSON.stringify(value) : String(value)}`;
    })
    .join(' · ');
}

/** Rows by ascending or descending id (a subscription's cache keeps no order). */
export function byId<T extends { id: number }>(rows: readonly T[], order: 'asc' | 'desc' = 'asc'): T[] {
  const sorted = [...rows].sort((a, b) => a.id - b.id);
  return order === 'asc' ? sorted : sorted.reverse();
}

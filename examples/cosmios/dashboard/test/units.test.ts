/**
 * The page's pure helpers, without a browser: the run filters' SQL and parameters, hash routes
 * round-tripping, and how heartbeat metrics read.
 */

import { describe, expect, test } from 'vitest';
import { runs } from '../src/queries.js';
import { href, parse, type Route } from '../src/route.js';
import { metrics } from '../src/format.js';

describe('helpers', () => {
  test('run filters become numbered parameters, never text in the SQL', () => {
    expect(runs({ status: '', machine: null }).params).toEqual([]);
    const both = runs({ status: "running' OR 1=1", machine: 7 });
    expect(both.sql).toContain('WHERE status = $1 AND machine_id = $2 ORDER BY id DESC LIMIT 100');
    expect(both.params).toEqual(["running' OR 1=1", 7]);
    expect(runs({ status: '', machine: 3 }).sql).toContain('WHERE machine_id = $1 ');
  });

  test('every route survives href → parse; unknown hashes go to the overview', () => {
    const routes: Route[] = [
      { page: 'overview' },
      { page: 'machines' },
      { page: 'runs' },
      { page: 'run', id: 12 },
      { page: 'missions' },
      { page: 'mission', id: 3 },
      { page: 'events' },
      { page: 'developers' },
    ];
    for (const r of routes) expect(parse(href(r))).toEqual(r);
    expect(parse('#/nowhere')).toEqual({ page: 'overview' });
    expect(parse('#/runs/abc')).toEqual({ page: 'runs' });
  });

  test('metrics read as percentages and megabytes; other keys as they are; junk as nothing', () => {
    expect(metrics('{"cpu": 0.31, "mem_mb": 2048}')).toBe('cpu 31% · mem 2048 MB');
    expect(metrics('{"gpu": "idle", "disks": [1, 2]}')).toBe('gpu idle · disks [1,2]');
    expect(metrics('not json')).toBe('');
    expect(metrics('{}')).toBe('');
  });
});

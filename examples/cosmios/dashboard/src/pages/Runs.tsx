/** Tasks: dispatch a run to a machine, and the live list of runs with status/machine filters. */

import { useState, type FormEvent } from 'react';
import { useAction, useQuery } from '../module';
import { MACHINES, runs } from '../queries';
import { AGENTS, type Machine, type Run } from '../rows';
import { byId, time } from '../format';
import { href, navigate } from '../route';
import { Badge, ErrorNote, Live } from '../ui';

const STATUSES = ['pending', 'running', 'completed', 'failed', 'cancelled'];

export function Runs() {
  const machines = useQuery<Machine>(MACHINES);
  const [status, setStatus] = useState('');
  const [machine, setMachine] = useState<number | null>(null);
  const query = runs({ status, machine });
  const list = useQuery<Run>(query.sql, query.params);
  const names = new Map(machines.rows.map((m) => [m.id, m.name]));

  return (
    <>
      <h1>Tasks</h1>
      <Dispatch machines={machines.rows} />
      <div className="filters">
        <label>
          Status
          <select value={status} onChange={(e) => setStatus(e.target.value)}>
            <option value="">any</option>
            {STATUSES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          Machine
          <select value={machine ?? ''} onChange={(e) => setMachine(e.target.value ? Number(e.target.value) : null)}>
            <option value="">any</option>
            {byId(machines.rows).map((m) => (
              <option key={m.id} value={m.id}>
                {m.name}
              </option>
            ))}
          </select>
        </label>
      </div>
      <Live query={list} empty={status || machine !== null ? 'No runs match these filters.' : 'No runs yet: dispatch one above.'}>
        {(rows) => (
          <ul className="list runs">
            {byId(rows, 'desc').map((r) => (
              <li key={r.id} data-testid={`run-${r.id}`}>
                <a className="grow" href={href({ page: 'run', id: r.id })}>
                  <strong>#{r.id}</strong> {r.task.split('\n').pop()}
                  <div className="muted small">
                    {names.get(r.machine_id) ?? `machine ${r.machine_id}`} · {r.agent} · {time(r.created_at)}
                  </div>
                </a>
                <Badge status={r.status} />
              </li>
            ))}
          </ul>
        )}
      </Live>
    </>
  );
}

function Dispatch(props: { machines: readonly Machine[] }) {
  const dispatch = useAction<{ machine: number; agent: string; workspace: string; task: string }, Run>('dispatch_run');
  const usable = byId(props.machines).filter((m) => m.enabled);
  const [machine, setMachine] = useState<number | null>(null);
  const [agent, setAgent] = useState<string>(AGENTS[0]);
  const [workspace, setWorkspace] = useState('');
  const [task, setTask] = useState('');
  const chosen = machine ?? usable[0]?.id ?? null;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (chosen === null) return;
    const run = await dispatch.run({ machine: chosen, agent, workspace, task });
    if (run) navigate({ page: 'run', id: run.id });
  };

  if (props.machines.length === 0) {
    return (
      <p className="empty">
        Register a machine on the <a href="#/machines">Machines</a> page to dispatch runs.
      </p>
    );
  }
  return (
    <form className="card" onSubmit={submit} aria-label="Dispatch a run">
      <div className="row wrap">
        <label>
          Machine
          <select value={chosen ?? ''} onChange={(e) => setMachine(Number(e.target.value))}>
            {usable.map((m) => (
              <option key={m.id} value={m.id}>
                {m.name} {m.online ? '(online)' : '(offline)'}
              </option>
            ))}
          </select>
        </label>
        <label>
          Agent
          <select value={agent} onChange={(e) => setAgent(e.target.value)}>
            {AGENTS.map((a) => (
              <option key={a}>{a}</option>
            ))}
          </select>
        </label>
        <label className="grow">
          Workspace
          <input required value={workspace} onChange={(e) => setWorkspace(e.target.value)} placeholder="/home/me/app" />
        </label>
      </div>
      <label>
        Prompt
        <textarea required rows={3} value={task} onChange={(e) => setTask(e.target.value)} placeholder="Fix the auth bug in login.ts" />
      </label>
      <ErrorNote message={usable.length === 0 ? 'Every machine is disabled: enable one to dispatch.' : dispatch.error} />
      <button type="submit" disabled={dispatch.pending || chosen === null}>
        Dispatch
      </button>
    </form>
  );
}

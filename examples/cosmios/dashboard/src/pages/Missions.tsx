/** Missions: create one (title + workspace), and the live list of missions. */

import { useState, type FormEvent } from 'react';
import { useAction, useQuery } from '../module';
import { MISSIONS } from '../queries';
import type { Mission } from '../rows';
import { byId } from '../format';
import { href, navigate } from '../route';
import { Badge, ErrorNote, Live } from '../ui';

export function Missions() {
  const missions = useQuery<Mission>(MISSIONS);
  const create = useAction<{ title: string; workspace: string }, Mission>('create_mission');
  const [title, setTitle] = useState('');
  const [workspace, setWorkspace] = useState('');

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const mission = await create.run({ title, workspace });
    if (mission) navigate({ page: 'mission', id: mission.id });
  };

  return (
    <>
      <h1>Missions</h1>
      <form className="card" onSubmit={submit} aria-label="Create a mission">
        <div className="row wrap">
          <label className="grow">
            Title
            <input required maxLength={200} value={title} onChange={(e) => setTitle(e.target.value)} placeholder="Ship v2" />
          </label>
          <label className="grow">
            Workspace
            <input required value={workspace} onChange={(e) => setWorkspace(e.target.value)} placeholder="/home/me/app" />
          </label>
        </div>
        <ErrorNote message={create.error} />
        <button type="submit" disabled={create.pending}>
          Create
        </button>
      </form>
      <Live query={missions} empty="No missions yet: a mission chains cards that run one after another.">
        {(rows) => (
          <ul className="list">
            {byId(rows, 'desc').map((m) => (
              <li key={m.id}>
                <a className="grow" href={href({ page: 'mission', id: m.id })}>
                  <strong>{m.title}</strong>
                  <div className="muted small">{m.workspace}</div>
                </a>
                <Badge status={m.status} />
              </li>
            ))}
          </ul>
        )}
      </Live>
    </>
  );
}

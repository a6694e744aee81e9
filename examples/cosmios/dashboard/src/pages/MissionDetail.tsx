/**
 * One mission: play/pause/resume, its cards as a pipeline with live statuses, the running
 * card's terminal, and the action items found along the way.
 */

import { useState, type FormEvent } from 'react';
import { useAction, useQuery } from '../module';
import { ACTION_ITEMS, CARDS, MACHINES, MISSION } from '../queries';
import { AGENTS, type ActionItem, type Card, type Machine, type Mission } from '../rows';
import { byId } from '../format';
import { href } from '../route';
import { Badge, ErrorNote, Live } from '../ui';
import { Terminal } from './Terminal';

export function MissionDetail(props: { id: number }) {
  const mission = useQuery<Mission>(MISSION, [props.id]);
  return (
    <>
      <p>
        <a href="#/missions">← Missions</a>
      </p>
      <Live query={mission} empty={`No mission ${props.id} of yours.`}>
        {(rows) => rows[0] && <MissionView mission={rows[0]} />}
      </Live>
    </>
  );
}

function MissionView(props: { mission: Mission }) {
  const m = props.mission;
  const cards = useQuery<Card>(CARDS, [m.id]);
  const ordered = [...cards.rows].sort((a, b) => a.position - b.position);
  // The card whose output to show: the one running, else the last one that ran.
  const watched = ordered.find((c) => c.status === 'running') ?? ordered.filter((c) => c.run_id !== null).pop();

  return (
    <>
      <h1>
        {m.title} <Badge status={m.status} />
      </h1>
      <p className="muted">
        <code>{m.workspace}</code>
      </p>
      <Controls mission={m} hasCards={ordered.length > 0} />
      <h2>Cards</h2>
      <Live query={cards} empty="No cards yet: add the first instruction below.">
        {() => (
          <ol className="pipeline">
            {ordered.map((c) => (
              <li key={c.id} className={`card-step ${c.status}`} data-testid={`card-${c.position + 1}`}>
                <div className="row">
                  <strong>{c.position + 1}</strong>
                  <Badge status={c.status} />
                  <span className="muted small">{c.agent}</span>
                  {c.run_id !== null && <a href={href({ page: 'run', id: c.run_id })}>run #{c.run_id}</a>}
                </div>
                <p>{c.instruction}</p>
                {c.summary && <p className="summary small">{c.summary}</p>}
              </li>
            ))}
          </ol>
        )}
      </Live>
      {m.status !== 'completed' && <AddCard missionId={m.id} />}
      {watched?.run_id != null && (
        <>
          <h2>Card {watched.position + 1} output</h2>
          <Terminal runId={watched.run_id} />
        </>
      )}
      <ActionItems cards={ordered} />
    </>
  );
}

function Controls(props: { mission: Mission; hasCards: boolean }) {
  const m = props.mission;
  const machines = useQuery<Machine>(MACHINES);
  const play = useAction<{ mission: number; machine: number }>('play_mission');
  const pause = useAction<{ mission: number }>('pause_mission');
  const resume = useAction<{ mission: number }>('resume_mission');
  const [machine, setMachine] = useState<number | null>(null);
  const chosen = machine ?? byId(machines.rows)[0]?.id ?? null;

  return (
    <div className="card">
      {m.status === 'draft' && (
        <div className="row wrap">
          <label>
            Machine
            <select value={chosen ?? ''} onChange={(e) => setMachine(Number(e.target.value))}>
              {byId(machines.rows).map((mc) => (
                <option key={mc.id} value={mc.id}>
                  {mc.name}
                </option>
              ))}
            </select>
          </label>
          <button
            type="button"
            disabled={play.pending || chosen === null || !props.hasCards}
            onClick={() => chosen !== null && void play.run({ mission: m.id, machine: chosen })}
          >
            Play
          </button>
          {!props.hasCards && <span className="muted small">Add a card to play.</span>}
          {!machines.loading && machines.rows.length === 0 && <span className="muted small">Register a machine first.</span>}
        </div>
      )}
      {m.status === 'running' && (
        <button type="button" disabled={pause.pending} onClick={() => void pause.run({ mission: m.id })}>
          Pause
        </button>
      )}
      {m.status === 'paused' && (
        <button type="button" disabled={resume.pending} onClick={() => void resume.run({ mission: m.id })}>
          Resume
        </button>
      )}
      {m.status === 'completed' && <p className="muted">Every card completed.</p>}
      <ErrorNote message={play.error ?? pause.error ?? resume.error} />
    </div>
  );
}

function AddCard(props: { missionId: number }) {
  const add = useAction<{ mission: number; instruction: string; agent: string }>('add_card');
  const [instruction, setInstruction] = useState('');
  const [agent, setAgent] = useState<string>(AGENTS[0]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (await add.run({ mission: props.missionId, instruction, agent })) setInstruction('');
  };

  return (
    <form className="card" onSubmit={submit} aria-label="Add a card">
      <label>
        Instruction
        <textarea required rows={2} value={instruction} onChange={(e) => setInstruction(e.target.value)} />
      </label>
      <div className="row">
        <select aria-label="Agent" value={agent} onChange={(e) => setAgent(e.target.value)}>
          {AGENTS.map((a) => (
            <option key={a}>{a}</option>
          ))}
        </select>
        <button type="submit" disabled={add.pending}>
          Add card
        </button>
      </div>
      <ErrorNote message={add.error} />
    </form>
  );
}

function ActionItems(props: { cards: readonly Card[] }) {
  const items = useQuery<ActionItem>(ACTION_ITEMS);
  const complete = useAction<{ item: number }>('complete_action_item');
  const position = new Map(props.cards.map((c) => [c.id, c.position + 1]));
  const mine = { ...items, rows: items.rows.filter((i) => position.has(i.card_id)) };
  return (
    <>
      <h2>Action items</h2>
      <Live query={mine} empty="Nothing for you to do by hand so far.">
        {(rows) => (
          <ul className="checklist">
            {byId(rows).map((i) => (
              <li key={i.id}>
                <label>
                  <input
                    type="checkbox"
                    checked={i.done}
                    disabled={i.done || complete.pending}
                    onChange={() => void complete.run({ item: i.id })}
                  />
                  <span className={i.done ? 'done' : undefined}>{i.text}</span>
                  <span className="muted small"> (card {position.get(i.card_id)})</span>
                </label>
              </li>
            ))}
          </ul>
        )}
      </Live>
      <ErrorNote message={complete.error} />
    </>
  );
}

/** Register machines (the key is shown once), enable/disable them, watch them go online. */

import { useState, type FormEvent } from 'react';
import { useAction, useQuery } from '../module';
import { MACHINES } from '../queries';
import type { Machine } from '../rows';
import { byId, metrics, time } from '../format';
import { Badge, ErrorNote, Live, Secret } from '../ui';

interface Registered {
  machine_id: number;
  name: string;
  api_key: string;
}

export function Machines() {
  const machines = useQuery<Machine>(MACHINES);
  const register = useAction<{ name: string }, Registered>('register_machine');
  const [name, setName] = useState('');
  const [key, setKey] = useState<Registered | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const registered = await register.run({ name });
    if (registered) {
      setKey(registered);
      setName('');
    }
  };

  return (
    <>
      <h1>Machines</h1>
      <form className="card inline" onSubmit={submit}>
        <label>
          Machine name
          <input required maxLength={100} value={name} onChange={(e) => setName(e.target.value)} placeholder="mac-mini" />
        </label>
        <button type="submit" disabled={register.pending}>
          Register
        </button>
        <ErrorNote message={register.error} />
      </form>
      {key && (
        <Secret
          label={`API key for ${key.name}`}
          note="only its SHA-256 is stored. Paste it into `cosmios register` on the machine."
          value={key.api_key}
          onDone={() => setKey(null)}
        />
      )}
      <Live query={machines} empty="No machines yet: register one above, then start its runner.">
        {(rows) => (
          <ul className="list machines">
            {byId(rows).map((m) => (
              <MachineRow key={m.id} machine={m} />
            ))}
          </ul>
        )}
      </Live>
    </>
  );
}

function MachineRow(props: { machine: Machine }) {
  const m = props.machine;
  const enable = useAction<{ machine: number }>('enable_machine');
  const disable = useAction<{ machine: number }>('disable_machine');
  const toggle = m.enabled ? disable : enable;
  return (
    <li data-testid={`machine-${m.id}`}>
      <div className="grow">
        <strong>{m.name}</strong> <Badge status={m.online ? 'online' : 'offline'} />
        {!m.enabled && <Badge status="disabled" />}
        <div className="muted small">
          last heartbeat {time(m.last_seen)}
          {m.metrics !== '{}' && <> · {metrics(m.metrics)}</>}
        </div>
        <ErrorNote message={toggle.error} />
      </div>
      <button type="button" className="quiet" disabled={toggle.pending} onClick={() => void toggle.run({ machine: m.id })}>
        {m.enabled ? 'Disable' : 'Enable'}
      </button>
    </li>
  );
}

/**
 * Developers: API keys for the REST API, webhooks (the signing secret shown once) and the
 * delivery queue.
 */

import { useState, type FormEvent } from 'react';
import { useAction, useQuery } from '../module';
import { DELIVERIES, WEBHOOKS } from '../queries';
import { WEBHOOK_EVENTS, type Delivery, type Webhook } from '../rows';
import { byId, time } from '../format';
import { Badge, ErrorNote, Live, Secret } from '../ui';
import { ApiKeys } from './ApiKeys';

interface Created {
  webhook_id: number;
  url: string;
  secret: string;
}

export function Developers() {
  const hooks = useQuery<Webhook>(WEBHOOKS);
  const deliveries = useQuery<Delivery>(DELIVERIES);
  const remove = useAction<{ webhook: number }>('delete_webhook');
  const [created, setCreated] = useState<Created | null>(null);
  const urls = new Map(hooks.rows.map((h) => [h.id, h.url]));

  return (
    <>
      <h1>Developers</h1>
      <h2>API keys</h2>
      <ApiKeys />
      <h2>Webhooks</h2>
      <CreateWebhook onCreated={setCreated} />
      {created && (
        <Secret
          label={`Signing secret for ${created.url}`}
          note="verify the X-Cosmios-Signature header (HMAC-SHA256 of the body) with it."
          value={created.secret}
          onDone={() => setCreated(null)}
        />
      )}
      <Live query={hooks} empty="No webhooks: add one to be told about runs, approvals and machines.">
        {(rows) => (
          <ul className="list">
            {byId(rows).map((h) => (
              <li key={h.id}>
                <div className="grow">
                  <code>{h.url}</code>
                  <div className="muted small">{h.events.split(',').join(', ')}</div>
                </div>
                <button type="button" className="danger" disabled={remove.pending} onClick={() => void remove.run({ webhook: h.id })}>
                  Delete
                </button>
              </li>
            ))}
          </ul>
        )}
      </Live>
      <ErrorNote message={remove.error} />
      <h2>Deliveries</h2>
      <Live
        query={deliveries}
        empty="No deliveries yet: each event a webhook subscribes to queues one here, for the relay to sign and send."
      >
        {(rows) => (
          <ul className="list">
            {byId(rows, 'desc').map((d) => (
              <li key={d.id}>
                <div className="grow">
                  {d.event} → <code>{urls.get(d.webhook_id) ?? `webhook ${d.webhook_id}`}</code>
                  <div className="muted small">
                    {time(d.created_at)} · {d.attempts} attempt{d.attempts === 1 ? '' : 's'}
                  </div>
                </div>
                <Badge status={d.status} />
              </li>
            ))}
          </ul>
        )}
      </Live>
    </>
  );
}

function CreateWebhook(props: { onCreated: (c: Created) => void }) {
  const create = useAction<{ url: string; events: string[] }, Created>('create_webhook');
  const [url, setUrl] = useState('');
  const [events, setEvents] = useState<string[]>(['run.completed', 'run.failed']);

  const toggle = (kind: string) => setEvents((es) => (es.includes(kind) ? es.filter((e) => e !== kind) : [...es, kind]));
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const created = await create.run({ url, events });
    if (created) {
      props.onCreated(created);
      setUrl('');
    }
  };

  return (
    <form className="card" onSubmit={submit} aria-label="Create a webhook">
      <label>
        URL
        <input type="url" required value={url} onChange={(e) => setUrl(e.target.value)} placeholder="https://example.com/hook" />
      </label>
      <fieldset>
        <legend>Events</legend>
        {WEBHOOK_EVENTS.map((kind) => (
          <label key={kind} className="check">
            <input type="checkbox" checked={events.includes(kind)} onChange={() => toggle(kind)} /> {kind}
          </label>
        ))}
      </fieldset>
      <ErrorNote message={create.error} />
      <button type="submit" disabled={create.pending || events.length === 0}>
        Create webhook
      </button>
    </form>
  );
}

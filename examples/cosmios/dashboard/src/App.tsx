/** The frame: sign-in until there is an identity, then the navigation and the current page. */

import { useIdentity } from '@cosmictron/react';
import { href, useRoute, type Route } from './route';
import { signOut } from './session';
import { SignIn } from './pages/SignIn';
import { Overview } from './pages/Overview';
import { Machines } from './pages/Machines';
import { Runs } from './pages/Runs';
import { RunDetail } from './pages/RunDetail';
import { Missions } from './pages/Missions';
import { MissionDetail } from './pages/MissionDetail';
import { Events } from './pages/Events';
import { Developers } from './pages/Developers';

const NAV: { route: Route; label: string; section: Route['page'][] }[] = [
  { route: { page: 'overview' }, label: 'Overview', section: ['overview'] },
  { route: { page: 'machines' }, label: 'Machines', section: ['machines'] },
  { route: { page: 'runs' }, label: 'Tasks', section: ['runs', 'run'] },
  { route: { page: 'missions' }, label: 'Missions', section: ['missions', 'mission'] },
  { route: { page: 'events' }, label: 'Events', section: ['events'] },
  { route: { page: 'developers' }, label: 'Developers', section: ['developers'] },
];

export function App(props: { notice: string | null }) {
  const identity = useIdentity();
  const route = useRoute();
  if (!identity) return <SignIn notice={props.notice} />;
  return (
    <div className="shell">
      <header>
        <a className="brand" href="#/">
          COSMIOS
        </a>
        <nav aria-label="Pages">
          {NAV.map((n) => (
            <a key={n.label} href={href(n.route)} aria-current={n.section.includes(route.page) ? 'page' : undefined}>
              {n.label}
            </a>
          ))}
        </nav>
        <button type="button" className="quiet" onClick={signOut}>
          Sign out
        </button>
      </header>
      <main>
        <Page route={route} />
      </main>
    </div>
  );
}

function Page(props: { route: Route }) {
  const r = props.route;
  switch (r.page) {
    case 'overview':
      return <Overview />;
    case 'machines':
      return <Machines />;
    case 'runs':
      return <Runs />;
    case 'run':
      return <RunDetail id={r.id} />;
    case 'missions':
      return <Missions />;
    case 'mission':
      return <MissionDetail id={r.id} />;
    case 'events':
      return <Events />;
    case 'developers':
      return <Developers />;
  }
}

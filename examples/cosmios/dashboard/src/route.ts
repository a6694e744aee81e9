/**
 * Hash routes (`#/runs/12`): the server serves one `index.html` at `/`, so the path part of
 * the URL never changes and every page is reachable by a link or a reload.
 */

import { useSyncExternalStore } from 'react';

export type Route =
  | { page: 'overview' }
  | { page: 'machines' }
  | { page: 'runs' }
  | { page: 'run'; id: number }
  | { page: 'missions' }
  | { page: 'mission'; id: number }
  | { page: 'events' }
  | { page: 'developers' };

export function parse(hash: string): Route {
  const [, first = '', second] = hash.replace(/^#/, '').split('/');
  const id = Number(second);
  switch (first) {
    case 'machines':
      return { page: 'machines' };
    case 'runs':
      return second && Number.isSafeInteger(id) ? { page: 'run', id } : { page: 'runs' };
    case 'missions':
      return second && Number.isSafeInteger(id) ? { page: 'mission', id } : { page: 'missions' };
    case 'events':
      return { page: 'events' };
    case 'developers':
      return { page: 'developers' };
    default:
      return { page: 'overview' };
  }
}

export function href(route: Route): string {
  switch (route.page) {
    case 'overview':
      return '#/';
    case 'run':
      return `#/runs/${route.id}`;
    case 'mission':
      return `#/missions/${route.id}`;
    default:
      return `#/${route.page}`;
  }
}

export function navigate(route: Route): void {
  window.location.hash = href(route);
}

function subscribe(onChange: () => void): () => void {
  window.addEventListener('hashchange', onChange);
  return () => window.removeEventListener('hashchange', onChange);
}

export function useRoute(): Route {
  const hash = useSyncExternalStore(subscribe, () => window.location.hash);
  return parse(hash);
}

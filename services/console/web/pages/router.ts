/**
 * Which view the console page shows: `/` the Fleet page (services/console/web/main.ts), `/alert?key=…` the Alert
 * page, `/search?FILTERS` the Search page. Each address is a real URL the server answers with the same page
 * (services/console/routes/pages.ts), so it can be pasted in an incident channel; moving between pages is an
 * ordinary link. main.ts calls openPage() once signed in and onFleet() with every fleet snapshot.
 */
import type { WireFleet } from '../../wire.js';
import { openAlertPage, alertOnFleet } from './alert.js';
import { openSearchPage } from './search.js';

export type PageName = 'fleet' | 'alert' | 'search';

export function currentPage(): PageName {
  const p = location.pathname;
  return p === '/alert' ? 'alert' : p === '/search' ? 'search' : 'fleet';
}

let opened = false;

/** Show the current view (once per page load) and mark its link in the navigation. */
export function openPage(): void {
  const page = currentPage();
  for (const a of document.querySelectorAll<HTMLAnchorElement>('nav a[data-page]')) {
    if (a.dataset.page === page) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (opened) return;
  opened = true;
  if (page === 'alert') openAlertPage();
  else if (page === 'search') openSearchPage();
}

export function onFleet(f: WireFleet): void {
  if (currentPage() === 'alert') alertOnFleet(f);
}

export { alertHref } from './dom.js';

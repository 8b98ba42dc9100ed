/** DOM helpers of the console's pages: elements built with textContent/attributes only, never HTML strings. */

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}

const SVG = 'http://www.w3.org/2000/svg';
export function svg(tag: string, attrs: Record<string, string | number> = {}, ...children: (Node | string)[]): SVGElement {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  for (const c of children) e.append(c);
  return e;
}

export function byId<T extends HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`console: #${id} missing from the page`);
  return e as T;
}

/** GET a console API as JSON; a non-2xx answer becomes an Error with the server's message. */
export async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { credentials: 'same-origin', headers: { accept: 'application/json' } });
  const body = (await res.json().catch(() => ({}))) as { message?: unknown };
  if (!res.ok) throw new Error(typeof body.message === 'string' ? body.message : `${url.split('?')[0]}: HTTP ${res.status}`);
  return body as T;
}

/** The Search page's address for these filters (path + query string, same origin). */
export function searchHref(params: Record<string, string | string[]>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) for (const x of Array.isArray(v) ? v : [v]) p.append(k, x);
  return `/search?${p.toString()}`;
}

export function alertHref(dedupKey: string): string {
  return `/alert?${new URLSearchParams({ key: dedupKey }).toString()}`;
}

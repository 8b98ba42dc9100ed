/**
 * The README says Node 20: every package in package-lock.json whose `engines.node` is set accepts the oldest Node
 * that package.json's `engines` allows, so `npm ci` on Node 20 prints no EBADENGINE warning (cookie@2, pulled by
 * light-my-request 6.8 through fastify, wanted Node 22).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

type V = [number, number, number];
const parse = (s: string): V => {
  const [a = 0, b = 0, c = 0] = s.replace(/^v/, '').split('.').map((x) => Number.parseInt(x, 10) || 0);
  return [a, b, c];
};
const cmp = (x: V, y: V) => x[0] - y[0] || x[1] - y[1] || x[2] - y[2];

/** Whether version `v` satisfies an npm range of the forms packages use for engines (>=, >, <, <=, ^, ~, x, ||). */
export function satisfies(v: string, range: string): boolean {
  const ver = parse(v);
  if (/^\s*(\*|x|latest)?\s*$/.test(range)) return true;
  return range.split('||').some((set) =>
    set.replace(/(>=|<=|>|<|\^|~|=)\s+/g, '$1').trim().split(/\s+/).filter(Boolean).every((c) => {
      const m = /^(>=|<=|>|<|\^|~|=)?\s*v?([\d.x*]+)$/.exec(c);
      if (!m) return false;
      const op = m[1] ?? '';
      const parts = m[2]!.split('.').filter((p) => p !== 'x' && p !== '*');
      const base = parse(parts.join('.'));
      const d = cmp(ver, base);
      switch (op) {
        case '>=': return d >= 0;
        case '>': return d > 0;
        case '<': return d < 0;
        case '<=': return d <= 0;
        case '^': return d >= 0 && (base[0] > 0 ? ver[0] === base[0] : ver[0] === 0 && ver[1] === base[1]);
        case '~': return d >= 0 && ver[0] === base[0] && ver[1] === base[1];
        default: // "20", "20.19", "=20.19.0": that major (minor) and above within it
          return parts.length === 3 ? d === 0 : parts.length === 2 ? ver[0] === base[0] && ver[1] === base[1] : ver[0] === base[0];
      }
    }),
  );
}

void test('every locked dependency accepts the oldest Node that package.json allows (no EBADENGINE on Node 20)', () => {
  const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { engines: { node: string } };
  const oldest = /^>=\s*([\d.]+)$/.exec(pkg.engines.node)?.[1];
  assert.ok(oldest, `package.json engines.node is a lower bound: ${pkg.engines.node}`);
  assert.equal(parse(oldest)[0], 20, 'the README promises Node 20');
  const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as { packages: Record<string, { version?: string; engines?: { node?: string } | string[] }> };
  const bad: string[] = [];
  let checked = 0;
  for (const [path, p] of Object.entries(lock.packages)) {
    const node = Array.isArray(p.engines) ? undefined : p.engines?.node;
    if (!path || !node) continue;
    checked++;
    if (!satisfies(oldest, node)) bad.push(`${path}@${p.version}: engines.node ${node}`);
  }
  assert.ok(checked > 20, `checked ${checked} packages`);
  assert.deepEqual(bad, [], `these need a newer Node than ${oldest}:\n${bad.join('\n')}`);
});

void test('the range check reads the forms the lockfile uses', () => {
  assert.equal(satisfies('20.19.0', '>=22'), false);
  assert.equal(satisfies('20.19.0', '>=18'), true);
  assert.equal(satisfies('20.19.0', '^20.19.0 || ^22.13.0 || >=24'), true);
  assert.equal(satisfies('20.6.0', '^20.19.0 || ^22.13.0 || >=24'), false);
  assert.equal(satisfies('20.19.0', '18 || 20 || >=22'), true);
  assert.equal(satisfies('20.19.0', '>= 14.0.0'), true);
  assert.equal(satisfies('20.19.0', '>=16.0.0 <21'), true);
  assert.equal(satisfies('20.19.0', '^18.18.0 || ^20.9.0 || >=21.1.0'), true);
  assert.equal(satisfies('20.19.0', '20.x'), true);
  assert.equal(satisfies('20.19.0', '~20.6'), false);
  assert.equal(satisfies('20.19.0', '*'), true);
});

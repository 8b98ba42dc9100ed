/**
 * The docs and the code comments cite only paths that exist: every repository path written in a Markdown file
 * (README.md, docs/*.md, alerts/runbooks/*.md, …) or a comment of a .ts/.mjs/.sh file or a bin/ script (a word starting with a top-level
 * folder of the repository, e.g. `services/query/store-writer.ts`, or a bare upper-case `NAME.md`) names a file or
 * folder of the repository, and every relative Markdown link resolves. `<placeholder>` and `*` match any file; a
 * cited `x.js` may be the compiled form of `x.ts`. Generated places (dist/, var/, node_modules/) are not checked.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join, dirname, normalize } from 'node:path';

const SKIP = new Set(['node_modules', 'dist', '.cache', 'var', '.git']);
const TOP = ['services', 'test', 'docs', 'scripts', 'alerts', 'dashboards', 'schemas', 'bench', 'bin', 'reference', '.ci'];
const SEG = String.raw`(?:[\w.-]+|<[^<>\n]{1,30}>|\*\*?)`;
const PATH_RE = new RegExp(String.raw`(?<![\w./$-])((?:${TOP.map((t) => t.replace('.', '\\.')).join('|')})(?:/${SEG})+|\b[A-Z][A-Z_-]+\.md\b)`, 'g');
const LINK_RE = /\]\(([^)\s#]+)(?:#[^)]*)?\)/g;

function walk(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(e.name)) continue;
    const p = dir === '.' ? e.name : `${dir}/${e.name}`;
    if (e.isDirectory()) { out.push(`${p}/`); walk(p, out); } else out.push(p);
  }
  return out;
}

/** The comment text of a source file (`//…`, `/* … *\/` blocks, `#…` for shell). */
export function commentText(file: string, text: string): string {
  if (file.endsWith('.sh') || !/\.[cm]?[jt]s$/.test(file)) return text.split('\n').filter((l) => /^\s*#/.test(l)).join('\n');
  const parts: string[] = [];
  for (const m of text.matchAll(/\/\*[\s\S]*?\*\/|(?<![:'"`\w\\])\/\/[^\n]*/g)) parts.push(m[0]);
  return parts.join('\n');
}

/** The repository paths a text cites (trailing punctuation removed). */
export function citedPaths(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(PATH_RE)) out.push(m[1]!.replace(/[.]+$/, ''));
  return out;
}

function exists(cite: string, from: string, all: readonly string[]): boolean {
  const candidates = [cite, ...(/^[A-Z][A-Z_-]+\.md$/.test(cite) ? [join(dirname(from), cite)] : [])];
  for (const c of candidates) {
    if (/[<*]/.test(c)) {
      const re = new RegExp('^' + c.split(/(<[^<>]*>|\*\*|\*)/).map((s) => (s === '**' ? '.*' : s.startsWith('<') || s === '*' ? '[^/]+' : s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))).join('') + '/?$');
      if (all.some((f) => re.test(f) || re.test(f.replace(/\.ts$/, '.js')))) return true;
      continue;
    }
    const p = c.replace(/\/$/, '');
    if (existsSync(p) || existsSync(p.replace(/\.js$/, '.ts')) || existsSync(p.replace(/\.js$/, '.mjs'))) return true;
  }
  return false;
}

void test('every repository path cited in the docs and in code comments exists', () => {
  const all = walk('.');
  const docs = all.filter((f) => f.endsWith('.md'));
  const sources = all.filter((f) => (/\.(ts|mjs|sh)$/.test(f) || /(^|\/)bin\/[^/.]+$/.test(f)) && !f.endsWith('.d.ts') && f !== 'test/unit/docs/paths.test.ts');
  assert.ok(docs.includes('README.md') && docs.some((f) => f.startsWith('docs/')) && docs.some((f) => f.startsWith('alerts/runbooks/')), 'found the docs');
  assert.ok(sources.length > 100 && sources.includes('bin/signwatch'), 'found the sources');
  const missing: string[] = [];
  let checked = 0;
  for (const f of docs) {
    const text = readFileSync(f, 'utf8');
    for (const c of citedPaths(text)) { checked++; if (!exists(c, f, all)) missing.push(`${f}: ${c}`); }
    for (const m of text.matchAll(LINK_RE)) {
      const target = m[1]!;
      if (/^[a-z]+:/.test(target)) continue;
      checked++;
      if (!existsSync(normalize(join(dirname(f), target)))) missing.push(`${f}: link ${target}`);
    }
  }
  for (const f of sources) {
    for (const c of citedPaths(commentText(f, readFileSync(f, 'utf8')))) { checked++; if (!exists(c, f, all)) missing.push(`${f}: ${c}`); }
  }
  assert.ok(checked > 200, `checked ${checked} citations`);
  assert.deepEqual(missing, [], `cited paths that are not in the repository:\n${missing.join('\n')}`);
});

void test('the citation extractor finds repository paths in prose and comments (and only those)', () => {
  assert.deepEqual(
    citedPaths('see services/query/store-writer.ts, `docs/query.md`. and DESIGN.md; not dist/x.js or ../schemas/a.js or https://x/services/y, rules/<alert>/rule.ts, but services/engine/rules/<alert>/rule.ts'),
    ['services/query/store-writer.ts', 'docs/query.md', 'DESIGN.md', 'services/engine/rules/<alert>/rule.ts'],
  );
  const src = "import { x } from '../../services/a.js';\n// see services/b.ts\nconst u = 'http://h/services/c';\n/** and test/unit/d.test.ts */\n";
  assert.deepEqual(citedPaths(commentText('x.ts', src)), ['services/b.ts', 'test/unit/d.test.ts']);
  assert.deepEqual(citedPaths(commentText('x.sh', 'echo services/a.sh\n# uses scripts/kafka.sh\n')), ['scripts/kafka.sh']);
  const all = ['services/', 'services/engine/', 'services/engine/rules/', 'services/engine/rules/cert_expiry/', 'services/engine/rules/cert_expiry/rule.ts'];
  assert.equal(exists('services/engine/rules/<alert>/rule.ts', 'README.md', all), true);
  assert.equal(exists('services/engine/rules/<alert>/nosuch.ts', 'README.md', all), false);
  assert.equal(exists('services/query/store-writer.js', 'README.md', all), true, 'the compiled name of a .ts file');
  assert.equal(exists('DESIGN.md', 'docs/engine.md', all), false);
});

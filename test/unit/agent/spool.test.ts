/** The durable spool: order, bound with counted drops, removal only on ack, concurrent writers, kill -9. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Spool } from '../../../services/agent/spool/spool.js';
import { newId } from '../../../services/agent/events.js';
import { Shipper } from '../../../services/agent/spool/shipper.js';
import type { ShipTarget } from '../../../services/agent/spool/ship-targets.js';
import { ROOT } from './helpers.js';

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'sw-spool-'));
}

void test('append keeps order, read returns the line, remove forgets', () => {
  const dir = tmp();
  try {
    const s = new Spool({ dir, maxEvents: 100 });
    const ids = Array.from({ length: 20 }, () => newId());
    for (const id of ids) s.append(id, JSON.stringify({ id }));
    const names = s.list();
    assert.deepEqual(names, ids.map((i) => `${i}.json`));
    assert.deepEqual(s.read(names[0] ?? '')?.map((l) => JSON.parse(l) as unknown), [{ id: ids[0] }]);
    s.remove(names.slice(0, 5));
    assert.equal(s.depth(), 15);
    assert.equal(s.list()[0], `${ids[5]}.json`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('bounded: when full the oldest are dropped, counted in markers, folded into the total', () => {
  const dir = tmp();
  try {
    const s = new Spool({ dir, maxEvents: 10 });
    const ids = Array.from({ length: 25 }, () => newId());
    let dropped = 0;
    for (const id of ids) dropped += s.append(id, JSON.stringify({ id })).dropped;
    assert.equal(dropped, 15);
    assert.equal(s.depth(), 10);
    assert.deepEqual(s.list(), ids.slice(15).map((i) => `${i}.json`), 'the newest ten remain, in order');
    assert.equal(s.droppedTotal(false), 15, 'read-only sum');
    assert.ok(readdirSync(join(dir, 'dropped')).length > 0, 'markers kept by a read-only sum');
    assert.equal(s.droppedTotal(), 15);
    assert.equal(readdirSync(join(dir, 'dropped')).length, 0, 'markers folded');
    assert.equal(s.droppedTotal(), 15, 'idempotent');
    s.append(newId(), '{}');
    assert.equal(s.droppedTotal(), 16);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('batches: one entry of n events, counted as n by the bound and by depth', () => {
  const dir = tmp();
  try {
    const s = new Spool({ dir, maxEvents: 10 });
    const batch = Array.from({ length: 4 }, () => newId()).map((id) => ({ id, line: JSON.stringify({ id }) }));
    s.appendBatch(batch);
    assert.deepEqual(s.list(), [`${batch[0]?.id}.4.json`]);
    assert.equal(s.depth(), 4);
    for (let i = 0; i < 6; i++) s.append(newId(), '{}');
    assert.equal(s.depth(), 10);
    assert.equal(s.append(newId(), '{}').dropped, 4, 'the oldest entry (4 events) goes as a whole');
    assert.equal(s.depth(), 7);
    assert.equal(s.droppedTotal(), 4);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('an unusable spool throws a coded SpoolError (callers keep going)', () => {
  const dir = tmp();
  try {
    writeFileSync(join(dir, 'file'), 'x');
    const s = new Spool({ dir: join(dir, 'file', 'sub'), maxEvents: 10 });
    assert.throws(() => s.append(newId(), '{}'), (e: unknown) => (e as { code?: string }).code === 'SW_SPOOL_IO');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function writer(dir: string, n: number, tag: string) {
  const code = `
    const { Spool } = await import(${JSON.stringify(join(ROOT, 'dist/services/agent/spool/spool.js'))});
    const { newId } = await import(${JSON.stringify(join(ROOT, 'dist/services/agent/events.js'))});
    const s = new Spool({ dir: ${JSON.stringify(dir)}, maxEvents: 1000000 });
    for (let i = 0; i < ${n}; i++) { const id = newId(); s.append(id, JSON.stringify({ id, tag: ${JSON.stringify(tag)}, i, pad: 'x'.repeat(300) })); if (i === 0) process.stdout.write('started\\n'); }
  `;
  return spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
}

void test('concurrent writers: every event complete, per-writer order kept', async () => {
  const dir = tmp();
  try {
    const kids = ['a', 'b', 'c'].map((t) => writer(dir, 150, t));
    await Promise.all(kids.map((k) => new Promise((r) => k.on('close', r))));
    const s = new Spool({ dir, maxEvents: 1_000_000 });
    const lines = s.list().flatMap((n) => s.read(n) ?? []).map((l) => JSON.parse(l) as { tag: string; i: number });
    assert.equal(lines.length, 450);
    for (const t of ['a', 'b', 'c']) {
      const seq = lines.filter((l) => l.tag === t).map((l) => l.i);
      assert.deepEqual(seq, Array.from({ length: 150 }, (_, i) => i));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('kill -9 in the middle of appends: no partial event is ever visible; stale temp files are swept', async () => {
  const dir = tmp();
  try {
    const k = writer(dir, 1_000_000, 'k');
    // a writer that dies before its first append fails the test instead of leaving it pending
    await new Promise<void>((resolve, reject) => {
      k.stdout.once('data', () => resolve());
      k.once('close', (code) => reject(new Error(`writer exited (${String(code)}) before its first append`)));
    });
    await new Promise((r) => setTimeout(r, 150));
    k.kill('SIGKILL');
    await new Promise((r) => k.on('close', r));
    const s = new Spool({ dir, maxEvents: 1_000_000 });
    const names = s.list();
    assert.ok(names.length > 0);
    for (const n of names) JSON.parse(readFileSync(join(s.q, n), 'utf8')); // every visible event parses
    s.sweepTmp();
    assert.equal(readdirSync(join(dir, 'tmp')).length, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('drop count is exact: an entry a writer drops while the shipper is delivering it is not counted lost (70 dropped reads 70)', async () => {
  const dir = tmp();
  try {
    // 100 events in a spool bounded at 100; the shipper reads the oldest 30 and, while its send is in flight, a
    // writer appends 100 more: it must drop 100 to make room, 30 of which are being delivered right now
    const s = new Spool({ dir, maxEvents: 100 });
    for (let i = 0; i < 100; i++) s.append(newId(), JSON.stringify({ region: 'HK', i }));
    const delivered: string[] = [];
    const target = {
      name: 'test',
      send: (messages: { value: string }[]) => {
        const writer = new Spool({ dir, maxEvents: 100 });
        for (let i = 0; i < 100; i++) writer.append(newId(), JSON.stringify({ region: 'HK', i: 100 + i }));
        delivered.push(...messages.map((m) => m.value));
        return Promise.resolve();
      },
      close: () => Promise.resolve(),
    };
    const shipper = new Shipper(s, [target as unknown as ShipTarget], 30);
    assert.equal(await shipper.shipOnce(), 30);
    assert.equal(delivered.length, 30);
    // 100 were dropped by the writer, 30 of them reached the sink: 70 are lost, and the total says 70
    assert.equal(s.droppedTotal(), 70);
    assert.equal(s.depth(), 100);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

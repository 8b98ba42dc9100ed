/**
 * The engine's state as data: an object graph (rules, windows, dedup sets, hourly buckets and their DDSketches,
 * certificate presence, fleet parity…) written as JSON and read back INTO a freshly built engine of the same
 * policy, so that the restored engine continues exactly where the saved one stopped (the processor's checkpoints,
 * services/processor/checkpoint.ts).
 *
 * Generic, so that a new alert's state is covered without code of its own:
 * - every object is one node (shared references and cycles stay shared: the same event in several windows is one
 *   object again);
 * - arrays, Maps, Sets, plain and null-prototype objects, and instances of the classes found in the fresh graph or
 *   registered here (by constructor name) are written field by field; numbers include ±Infinity and NaN;
 * - restoring walks the fresh graph beside the saved one and fills containers IN PLACE (a rule's hook closures keep
 *   pointing at the very arrays and maps they update), keeps the fresh graph's functions, and keeps the `statics`
 *   (policy, alert definitions: the same in both) as they are;
 * - a function reached only through saved data (a pending damping closure) cannot be restored: it becomes a stub
 *   that throws SW_ENGINE_STATE; the engine takes no checkpoint while one is pending (Engine.checkpointable).
 *
 * Anything else (typed arrays, Dates, symbols, bigint, an unknown class) makes encode() throw: no checkpoint is then
 * taken, the processor rebuilds from the log as before.
 */
import { createHash } from 'node:crypto';
import { CodedError } from '../platform/errors.js';

type Enc = string | number | boolean | null | { r: number } | { u: 1 } | { n: 'Infinity' | '-Infinity' | 'NaN' };

/** One saved object: its kind, and for objects the class tag ('' Object, '0' null prototype). */
type Node =
  | { k: 'a'; v: Enc[]; f?: 1 }
  | { k: 'm'; v: [Enc, Enc][] }
  | { k: 's'; v: Enc[] }
  | { k: 'o'; c: string; v: Record<string, Enc>; f?: 1 }
  | { k: 'fn' }
  | { k: 'st' };

export interface EncodedGraph {
  nodes: Node[];
  root: Enc;
}

export class StateCodecError extends CodedError {
  constructor(message: string) {
    super('SW_ENGINE_STATE', message);
  }
}

const tagOf = (proto: object | null): string => (proto === Object.prototype ? '' : proto === null ? '0' : ((proto as { constructor?: { name?: string } }).constructor?.name ?? '?'));

/** Prototypes by tag, from the objects of a graph (the fresh engine) and samples (lazily created classes). */
export class ClassRegistry {
  private readonly byTag = new Map<string, object>();

  /** Register the prototype chain of every object reachable from `roots`. */
  collect(...roots: unknown[]): this {
    const seen = new Set<object>();
    const stack: unknown[] = [...roots];
    while (stack.length) {
      const v = stack.pop();
      if (v === null || typeof v !== 'object' || seen.has(v)) continue;
      seen.add(v);
      for (let p = Object.getPrototypeOf(v) as object | null; p && p !== Object.prototype && p !== Array.prototype && p !== Map.prototype && p !== Set.prototype; p = Object.getPrototypeOf(p) as object | null) this.add(p);
      if (v instanceof Map) for (const [k, x] of v) stack.push(k, x);
      else if (v instanceof Set) for (const x of v) stack.push(x);
      else for (const k of Object.keys(v)) stack.push((v as Record<string, unknown>)[k]);
    }
    return this;
  }

  private add(proto: object): void {
    const tag = tagOf(proto);
    const had = this.byTag.get(tag);
    if (had && had !== proto) throw new StateCodecError(`engine state: two classes named ${tag}`);
    this.byTag.set(tag, proto);
  }

  proto(tag: string): object | null {
    if (tag === '') return Object.prototype;
    if (tag === '0') return null;
    const p = this.byTag.get(tag);
    if (!p) throw new StateCodecError(`engine state: unknown class ${tag}`);
    return p;
  }

  has(proto: object): boolean {
    return this.byTag.get(tagOf(proto)) === proto;
  }
}

/** Encode `root`; objects in `statics` are written as references to the restoring side's own. */
export function encodeGraph(root: unknown, statics: ReadonlySet<object>, classes: ClassRegistry): EncodedGraph {
  const nodes: Node[] = [];
  const ids = new Map<object, number>();
  // iterative: windows hold long arrays, but nesting is shallow; a work list keeps the stack flat anyway
  const work: [object, number][] = [];
  const enc = (v: unknown): Enc => {
    switch (typeof v) {
      case 'string':
      case 'boolean':
        return v;
      case 'number':
        return Number.isFinite(v) ? v : { n: Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity' };
      case 'undefined':
        return { u: 1 };
      case 'function':
      case 'object': {
        if (v === null) return null;
        const o = v;
        const have = ids.get(o);
        if (have !== undefined) return { r: have };
        const id = nodes.length;
        ids.set(o, id);
        if (statics.has(o)) nodes.push({ k: 'st' });
        else if (typeof v === 'function') nodes.push({ k: 'fn' });
        else {
          nodes.push({ k: 'st' }); // placeholder, filled from the work list
          work.push([o, id]);
        }
        return { r: id };
      }
      default:
        throw new StateCodecError(`engine state: cannot save a ${typeof v}`);
    }
  };
  const rootEnc = enc(root);
  while (work.length) {
    const [o, id] = work.pop()!;
    if (Array.isArray(o)) {
      const v = new Array<Enc>(o.length);
      for (let i = 0; i < o.length; i++) v[i] = enc(o[i]);
      nodes[id] = Object.isFrozen(o) ? { k: 'a', v, f: 1 } : { k: 'a', v };
    } else if (o instanceof Map) {
      const v: [Enc, Enc][] = [];
      for (const [k, x] of o) v.push([enc(k), enc(x)]);
      nodes[id] = { k: 'm', v };
    } else if (o instanceof Set) {
      const v: Enc[] = [];
      for (const x of o) v.push(enc(x));
      nodes[id] = { k: 's', v };
    } else {
      const proto = Object.getPrototypeOf(o) as object | null;
      if (proto !== Object.prototype && proto !== null && !classes.has(proto)) throw new StateCodecError(`engine state: cannot save an instance of ${tagOf(proto)} (not a registered class)`);
      if (ArrayBuffer.isView(o) || o instanceof Date || o instanceof WeakMap || o instanceof WeakSet || o instanceof Promise) throw new StateCodecError(`engine state: cannot save a ${tagOf(proto)}`);
      const v: Record<string, Enc> = {};
      for (const k of Object.keys(o)) v[k] = enc((o as Record<string, unknown>)[k]);
      nodes[id] = Object.isFrozen(o) ? { k: 'o', c: tagOf(proto), v, f: 1 } : { k: 'o', c: tagOf(proto), v };
    }
  }
  return { nodes, root: rootEnc };
}

const stub = () => {
  throw new StateCodecError('engine state: a closure of a restored checkpoint was called (a checkpoint was taken while a damping deadline was pending)');
};

/**
 * Restore `g` into `fresh` (the same graph's root in a newly built engine): containers and objects of the fresh
 * graph are filled in place when their kind and class match, others are created. Returns the restored root.
 */
export function restoreGraph(g: EncodedGraph, fresh: unknown, classes: ClassRegistry): unknown {
  const { nodes } = g;
  const done = new Map<number, unknown>();
  const pending: (() => void)[] = [];
  const dec = (e: Enc, slot: unknown): unknown => {
    if (e === null || typeof e !== 'object') return e;
    if ('u' in e) return undefined;
    if ('n' in e) return e.n === 'NaN' ? NaN : e.n === 'Infinity' ? Infinity : -Infinity;
    const id = e.r;
    if (done.has(id)) return done.get(id);
    const n = nodes[id];
    if (!n) throw new StateCodecError(`engine state: reference to node ${id} of ${nodes.length}`);
    switch (n.k) {
      case 'st':
        if (slot === undefined || slot === null) throw new StateCodecError('engine state: a policy object has no counterpart in the new engine');
        done.set(id, slot);
        return slot;
      case 'fn': {
        const f = typeof slot === 'function' ? slot : stub;
        done.set(id, f);
        return f;
      }
      case 'a': {
        const target: unknown[] = Array.isArray(slot) && !Object.isFrozen(slot) && !n.f ? slot : [];
        done.set(id, target);
        const old = target.slice();
        target.length = n.v.length;
        pending.push(() => {
          for (let i = 0; i < n.v.length; i++) target[i] = dec(n.v[i]!, old[i]);
          if (n.f) Object.freeze(target);
        });
        return target;
      }
      case 'm': {
        const target = slot instanceof Map ? (slot as Map<unknown, unknown>) : new Map<unknown, unknown>();
        done.set(id, target);
        const old = new Map(target);
        target.clear();
        pending.push(() => {
          for (const [k, v] of n.v) {
            const key = dec(k, undefined);
            target.set(key, dec(v, old.get(key)));
          }
        });
        return target;
      }
      case 's': {
        const target = slot instanceof Set ? (slot as Set<unknown>) : new Set<unknown>();
        done.set(id, target);
        target.clear();
        pending.push(() => {
          for (const v of n.v) target.add(dec(v, undefined));
        });
        return target;
      }
      case 'o': {
        const proto = classes.proto(n.c);
        const fits = slot !== null && typeof slot === 'object' && !Array.isArray(slot) && Object.getPrototypeOf(slot) === proto && !Object.isFrozen(slot) && !n.f;
        const target = (fits ? slot : Object.create(proto)) as Record<string, unknown>;
        done.set(id, target);
        pending.push(() => {
          for (const k of Object.keys(n.v)) target[k] = dec(n.v[k]!, target[k]);
          if (n.f) Object.freeze(target);
        });
        return target;
      }
    }
  };
  const root = dec(g.root, fresh);
  // breadth first: a fresh object is matched with its saved node at the first place it is reached
  for (let i = 0; i < pending.length; i++) pending[i]!();
  return root;
}

/**
 * What a saved state must agree with to be restored: the classes and field names of the fresh engine's graph (a
 * rule whose fields changed in a new release does not load an old checkpoint) and the policy.
 */
export function shapeFingerprint(root: unknown, statics: ReadonlySet<object>, extra: string): string {
  const shapes = new Set<string>();
  const seen = new Set<object>();
  const stack: unknown[] = [root];
  while (stack.length) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object' || seen.has(v) || statics.has(v)) continue;
    seen.add(v);
    if (v instanceof Map) for (const [k, x] of v) stack.push(k, x);
    else if (v instanceof Set) for (const x of v) stack.push(x);
    else if (Array.isArray(v)) stack.push(...(v as unknown[]));
    else {
      const keys = Object.keys(v);
      shapes.add(`${tagOf(Object.getPrototypeOf(v) as object | null)}{${keys.sort().join(',')}}`);
      for (const k of keys) stack.push((v as Record<string, unknown>)[k]);
    }
  }
  return createHash('sha256')
    .update([...shapes].sort().join('\n'))
    .update('\0')
    .update(extra)
    .digest('hex')
    .slice(0, 32);
}

/** Every object reachable from `roots` (the static part of an engine: policy, alert definitions). */
export function reachable(...roots: unknown[]): Set<object> {
  const seen = new Set<object>();
  const stack: unknown[] = [...roots];
  while (stack.length) {
    const v = stack.pop();
    if (v === null || (typeof v !== 'object' && typeof v !== 'function') || seen.has(v)) continue;
    seen.add(v);
    if (typeof v === 'function') continue;
    if (v instanceof Map) for (const [k, x] of v) stack.push(k, x);
    else if (v instanceof Set) for (const x of v) stack.push(x);
    else for (const k of Object.keys(v)) stack.push((v as Record<string, unknown>)[k]);
  }
  return seen;
}

/**
 * Fast validation of wire events: the contract as straight-line code (schemas/event-check.ts), on the hot path;
 * when an event fails, zod parses it again to give the reason in words. ajvValidate (ajv compiled from the JSON
 * Schema that zod generates) is the second reference: test/unit/schemas/schemas.test.ts checks that the three
 * accept and reject the same inputs.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ParseResult, SignEvent } from './events.js';
import { parseEvent, validateEvent as zodValidate } from './events.js';
import { eventJsonSchema } from './json-schema.js';
import { isEvent } from './event-check.js';

let compiled: ((json: unknown) => boolean) | undefined;

function compile(): (json: unknown) => boolean {
  // minLength/maxLength count code points (ajv's default), as zod's .min()/.max() do
  const ajv = new Ajv2020({ allErrors: false, strict: false, validateFormats: false, discriminator: true });
  return ajv.compile(eventJsonSchema()) as (json: unknown) => boolean;
}

/** The wire contract by the ajv validator compiled from the generated JSON Schema (tests, comparisons). */
export function ajvValidate(json: unknown): ParseResult {
  compiled ??= compile();
  if (compiled(json)) return { ok: true, event: json as SignEvent };
  const r = zodValidate(json);
  // zod and ajv agree by construction; if zod accepts what ajv refused, trust ajv's refusal but say so
  return r.ok ? { ok: false, reason: 'schema: rejected by the JSON Schema validator' } : r;
}

export function fastValidate(json: unknown): ParseResult {
  if (isEvent(json)) return { ok: true, event: json as SignEvent };
  const r = zodValidate(json);
  // the check is written from the zod source and tested against it; if zod accepts what it refused, refuse, and say so
  return r.ok ? { ok: false, reason: 'schema: rejected by the wire-contract check (schemas/event-check.ts)' } : r;
}

/** Parse one wire message: size limit → JSON → schema (fast path). Never throws. */
export function parseEventFast(text: string, maxBytes = 64 * 1024): ParseResult {
  return parseEvent(text, maxBytes, fastValidate);
}

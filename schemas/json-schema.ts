/**
 * JSON Schema generated from the zod sources (the only definitions). Written to schemas/json/ by
 * `npm run generate`; test/unit/schemas/drift.test.ts fails when the committed files differ from this output.
 * The event schema carries an OpenAPI-style `discriminator` on `type` so that validators (ajv) pick the branch
 * directly instead of trying all seven.
 */
import { z } from 'zod';
import { SignEvent } from './events.js';
import { Policy } from '../services/engine/policy.js';

export function eventJsonSchema(): Record<string, unknown> {
  const js = z.toJSONSchema(SignEvent, { target: 'draft-2020-12', io: 'input' }) as Record<string, unknown>;
  return {
    $schema: js.$schema,
    $id: 'https://signwatch.dev/schemas/event.v1.schema.json',
    title: 'signwatch wire contract v1: one event per Kafka message (topic events.v1, key = region)',
    type: 'object',
    required: ['type'],
    discriminator: { propertyName: 'type' },
    oneOf: js.oneOf,
  };
}

export function policyJsonSchema(): Record<string, unknown> {
  const js = z.toJSONSchema(Policy, { target: 'draft-2020-12', io: 'input' }) as Record<string, unknown>;
  return { ...js, $id: 'https://signwatch.dev/schemas/policy.v1.schema.json', title: 'signwatch alert policy (alerts/policy.yaml)' };
}

/** File name → content, as committed under schemas/json/. */
export function generatedSchemas(): Record<string, string> {
  return {
    'event.v1.schema.json': JSON.stringify(eventJsonSchema(), null, 2) + '\n',
    'policy.v1.schema.json': JSON.stringify(policyJsonSchema(), null, 2) + '\n',
  };
}

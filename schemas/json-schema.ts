/**
 * The wire contract's JSON Schema, generated from the zod source (the only definition). Written to schemas/json/ by
 * `npm run generate` (scripts/generate.ts, with the policy's schema from services/engine/policy.ts); the schemas
 * unit test fails when the committed files differ from this output.
 * The event schema carries an OpenAPI-style `discriminator` on `type` so that validators (ajv) pick the branch
 * directly instead of trying all eight.
 */
import { z } from 'zod';
import { SignEvent } from './events.js';

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

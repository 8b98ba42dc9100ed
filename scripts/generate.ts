/**
 * `npm run generate`: writes every generated artefact of the schemas area (JSON Schema for producers in other
 * languages). Other areas register their generators in the same list. Tests compare the committed files with a
 * fresh in-memory generation (drift check), so run this after changing a zod schema and commit the result.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventJsonSchema } from '../schemas/json-schema.js';
import { policyJsonSchema } from '../services/engine/policy.js';

/** File name → content, as committed under schemas/json/. */
export function generatedSchemas(): Record<string, string> {
  return {
    'event.v1.schema.json': JSON.stringify(eventJsonSchema(), null, 2) + '\n',
    'policy.v1.schema.json': JSON.stringify(policyJsonSchema(), null, 2) + '\n',
  };
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function schemaFiles(): Record<string, string> {
  return Object.fromEntries(Object.entries(generatedSchemas()).map(([name, text]) => [join('schemas', 'json', name), text]));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const [rel, text] of Object.entries(schemaFiles())) {
    const path = join(root, rel);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
    process.stderr.write(`wrote ${rel}\n`);
  }
}

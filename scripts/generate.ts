/**
 * `npm run generate`: writes every generated artefact of the schemas area (JSON Schema for producers in other
 * languages). Other areas register their generators in the same list. Tests compare the committed files with a
 * fresh in-memory generation (drift check), so run this after changing a zod schema and commit the result.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatedSchemas } from '../schemas/json-schema.js';

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

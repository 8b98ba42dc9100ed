/** The SQLite store's hand-rolled JSON for partition ID lists equals JSON.stringify for any strings. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { StringListJson } from '../../../services/query/sqlite-store.js';

void test('StringListJson equals JSON.stringify for lists of any strings (quotes, backslashes, controls, surrogates)', () => {
  const lists = new StringListJson();
  const anyString = fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme-ascii' }), fc.constantFrom('apple-tool:', 'teamid:ABCDE12345', '"', '\\', '\u0000', '\ud800', '😀'));
  fc.assert(
    fc.property(fc.array(anyString, { maxLength: 6 }), (list) => {
      assert.equal(lists.json(list), JSON.stringify(list));
    }),
    { numRuns: 5000, seed: 7 },
  );
});

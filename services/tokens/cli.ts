/**
 * `signwatch tokens add|list|remove`: the token book (services/platform/tokens.ts) that the release gate, drills and
 * the console read to know who is asking. `add` prints the new token once, on stdout, and stores only its hash.
 */
import { closeSync, constants, existsSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { parseCommandArgs, type CommandModule } from '../platform/cli.js';
import { ConfigError, UsageError } from '../platform/errors.js';
import { hashToken, loadTokenBook, newToken, PERSON_NAME } from '../platform/tokens.js';

const HELP = `Usage: signwatch tokens add --book FILE --name NAME
       signwatch tokens list --book FILE
       signwatch tokens remove --book FILE --name NAME

add     creates a token for NAME, appends "NAME sha256:<hash>" to the book (created 0600) and prints the token
        once on stdout: hand it to that person, who keeps it in a file (--token-file) or SIGNWATCH_GATE_TOKEN.
list    prints the names in the book.
remove  drops NAME from the book: their token stops working when the servers reload the book (on restart).

The book holds hashes only; servers take the name of whoever asks from it (gate serve --token-book FILE).
Names: letters, digits and ._@- (up to 64).

Exit status: 0 done, 1 the book cannot be written, 2 bad usage or a malformed book.
`;

const OPTIONS = {
  book: { type: 'string' },
  name: { type: 'string' },
} as const;

const SUBS = ['add', 'list', 'remove'] as const;

/** Rewrites or appends the book with O_NOFOLLOW, mode 0600, fsync'd. */
function writeBook(path: string, text: string, append: boolean): void {
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW | (append ? constants.O_APPEND : constants.O_TRUNC);
  let fd: number;
  try {
    fd = openSync(path, flags, 0o600);
  } catch (e) {
    throw new ConfigError(`signwatch tokens: ${path}: cannot write the token book: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export const run: CommandModule['run'] = (argv) => Promise.resolve(tokens(argv));

function tokens(argv: string[]): number {
  const parsed = parseCommandArgs('tokens', argv, OPTIONS, HELP, true, SUBS);
  if (!parsed) return 0;
  const [sub, ...rest] = parsed.positionals;
  if (!sub || !(SUBS as readonly string[]).includes(sub)) throw new UsageError(`signwatch tokens: ${sub ?? '(none)'}: expected add, list or remove\nTry 'signwatch tokens --help'.`);
  if (rest.length) throw new UsageError(`signwatch tokens ${sub}: ${rest[0]}: unexpected argument`);
  const book = parsed.values.book;
  if (!book) throw new UsageError(`signwatch tokens ${sub}: --book: needs the token book's path`);
  const name = parsed.values.name;
  const exists = existsSync(book);
  const current = exists ? loadTokenBook(book) : undefined;
  if (sub === 'list') {
    if (!current) throw new UsageError(`signwatch tokens list: ${book}: no such token book`);
    for (const n of current.names()) process.stdout.write(`${n}\n`);
    return 0;
  }
  if (!name) throw new UsageError(`signwatch tokens ${sub}: --name: needs a person's name`);
  if (!PERSON_NAME.test(name)) throw new UsageError(`signwatch tokens ${sub}: --name: '${name.slice(0, 64)}' is not a valid name (letters, digits, ._@-; up to 64)`);
  if (sub === 'add') {
    if (current?.names().includes(name)) throw new UsageError(`signwatch tokens add: --name: ${name} already has a token in ${book} (remove it first)`);
    const token = newToken();
    const prefix = exists && !readFileSync(book, 'utf8').endsWith('\n') && readFileSync(book, 'utf8').length > 0 ? '\n' : '';
    writeBook(book, `${prefix}${name} ${hashToken(token)}\n`, true);
    process.stdout.write(`${token}\n`);
    process.stderr.write(`signwatch tokens: added ${name} to ${book}; the token above is shown once\n`);
    return 0;
  }
  if (!current?.names().includes(name)) throw new UsageError(`signwatch tokens remove: --name: ${name} is not in ${book}`);
  const kept = readFileSync(book, 'utf8')
    .split('\n')
    .filter((l) => l.replace(/#.*$/, '').trim().split(/\s+/)[0] !== name)
    .join('\n');
  writeBook(book, kept, false);
  process.stderr.write(`signwatch tokens: removed ${name} from ${book}\n`);
  return 0;
}

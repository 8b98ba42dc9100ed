/**
 * Commands that write to stdout end quietly when the reader goes away (`signwatch query … | head -1`), like grep:
 * an EPIPE on stdout is the reader's choice, not an error, so it ends the process with status 0 and no stack.
 */
let installed = false;

export function installEpipeHandler(stream: NodeJS.WriteStream = process.stdout): void {
  if (installed) return;
  installed = true;
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}

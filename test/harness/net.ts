/** Sockets for tests: a free port, and a client that trickles its request. */
import { connect, createServer, type AddressInfo } from 'node:net';

/** A port nothing listens on (listened on and closed again): for a server to take, or for a broker that is down. */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/**
 * A client that trickles its request (issue 16 item 3): sends `head`, then `drip` one byte every 20 ms (each write
 * waits for the previous one to be flushed, so the socket is never idle long), and resolves with what the server
 * answered once it closes the connection and how many bytes were dripped. Rejects if the server has not cut the
 * connection after `guardMs`.
 */
export function trickle(port: number, head: string, drip = 'x', guardMs = 30_000): Promise<{ answer: string; bytesSent: number }> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    let answer = '';
    let sent = 0;
    let timer: NodeJS.Timeout | undefined;
    const guard = setTimeout(() => {
      sock.destroy();
      reject(new Error(`the trickling connection was still open after ${guardMs / 1000} s`));
    }, guardMs);
    sock.on('connect', () => {
      sock.write(head);
      const next = () => {
        if (sock.destroyed) return;
        sent++;
        sock.write(drip, () => (timer = setTimeout(next, 20)));
      };
      next();
    });
    sock.on('data', (b: Buffer) => (answer += b.toString()));
    sock.on('error', () => undefined);
    sock.on('close', () => {
      clearTimeout(guard);
      clearTimeout(timer);
      resolve({ answer, bytesSent: sent });
    });
  });
}

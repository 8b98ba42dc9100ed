/**
 * A client that trickles its request (issue 16 item 3): sends `head`, then `drip` one byte every 20 ms (each write
 * waits for the previous one to be flushed, so the socket is never idle long), and resolves with what the server
 * answered once it closes the connection and how many bytes were dripped. Rejects if the server has not cut the
 * connection after `guardMs`.
 */
import { connect } from 'node:net';

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

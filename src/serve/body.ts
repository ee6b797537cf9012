import type { IncomingMessage } from 'node:http';

export type BodyResult = { ok: true; text: string } | { ok: false; tooLarge: true; bytes: number };

/** The client went away (closed the connection, or the request timed out) before its body arrived. */
export class ClientGoneError extends Error {
  constructor() {
    super('client disconnected before the request body was complete');
    this.name = 'ClientGoneError';
  }
}

/**
 * Reads a request body up to `limit` bytes. A declared Content-Length over the limit is refused
 * before reading; a streamed body stops being collected once it passes the limit (the rest is
 * discarded as it arrives, so the client can read the 413). A client that disconnects mid-body
 * rejects with ClientGoneError (not an internal error: nothing to log with a stack).
 */
export function readBody(req: IncomingMessage, limit: number): Promise<BodyResult> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      req.resume();
      resolve({ ok: false, tooLarge: true, bytes: declared });
      return;
    }
    const parts: Buffer[] = [];
    let bytes = 0;
    let over = false;
    let ended = false;
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (over) return;
      if (bytes > limit) {
        over = true;
        parts.length = 0;
        resolve({ ok: false, tooLarge: true, bytes });
        return;
      }
      parts.push(chunk);
    });
    req.on('end', () => {
      ended = true;
      if (!over) resolve({ ok: true, text: Buffer.concat(parts).toString('utf8') });
    });
    req.on('error', () => reject(new ClientGoneError()));
    req.on('close', () => {
      if (!ended && !over) reject(new ClientGoneError());
    });
  });
}

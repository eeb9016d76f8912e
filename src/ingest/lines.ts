import { toError } from '../format/errors.js';

/** A line that has no text: why (it is too long, or not UTF-8). */
export interface LineProblem {
  problem: string;
}

/** Consecutive input lines: line `first + i` is `lines[i]`, its text or its problem (no object per line). */
export interface LineChunk {
  first: number;
  lines: (string | LineProblem)[];
}

const NEWLINE = 0x0a;

/**
 * Splits a byte stream into lines (LF or CRLF), numbered from 1, a chunk's worth at a time. A line
 * longer than `maxBytes` is never held whole: its bytes are counted and dropped, and it comes out as a
 * problem with its number, so that every input line still has its place (and its acknowledgement).
 * The last line needs no newline; a partial line is only a line once the input ends.
 *
 * split2 was the first choice; it drops an overlong line silently (or fails the stream), which would
 * shift every later acknowledgement, so this small splitter does it instead.
 */
export async function* splitLines(
  source: AsyncIterable<Buffer | string> | Iterable<Buffer | string>,
  maxBytes: number,
): AsyncGenerator<LineChunk> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let overlong = false;
  let n = 0;
  const tooLong = (): LineProblem => ({ problem: `longer than ${maxBytes} bytes` });
  const finish = (last: Buffer): string | LineProblem => {
    n++;
    // Up to maxBytes + 1 is held: the extra byte may be the CR of a CRLF, which is not the line's.
    if (overlong || pendingBytes + last.length > maxBytes + 1) return tooLong();
    let bytes = pending.length === 0 ? last : Buffer.concat([...pending, last]);
    if (bytes.length > 0 && bytes[bytes.length - 1] === 0x0d) bytes = bytes.subarray(0, bytes.length - 1);
    if (bytes.length > maxBytes) return tooLong();
    try {
      return decoder.decode(bytes);
    } catch {
      return { problem: 'not valid UTF-8' };
    }
  };
  for await (const piece of source) {
    const chunk = typeof piece === 'string' ? Buffer.from(piece) : piece;
    const first = n + 1;
    const lines: (string | LineProblem)[] = [];
    let start = 0;
    for (let end = chunk.indexOf(NEWLINE); end !== -1; end = chunk.indexOf(NEWLINE, start)) {
      lines.push(finish(chunk.subarray(start, end)));
      pending = [];
      pendingBytes = 0;
      overlong = false;
      start = end + 1;
    }
    const rest = chunk.subarray(start);
    if (overlong || pendingBytes + rest.length > maxBytes + 1) {
      overlong = true;
      pending = [];
    } else if (rest.length > 0) {
      pending.push(Buffer.from(rest)); // a copy: the source may reuse its buffer
    }
    pendingBytes += rest.length;
    if (lines.length > 0) yield { first, lines };
  }
  if (pendingBytes > 0) yield { first: n + 1, lines: [finish(Buffer.alloc(0))] };
}

/**
 * The items of `iterable` until `signal` aborts, which ends the iteration at once even while the next
 * item is awaited (input that may never come). Each wait listens for the abort only while it lasts:
 * one listener, or one Promise.race, for the whole run would keep every item ever read alive.
 */
export async function* untilAborted<T>(
  iterable: AsyncIterable<T>,
  signal: AbortSignal | undefined,
): AsyncGenerator<T> {
  const iterator = iterable[Symbol.asyncIterator]();
  const aborted = Symbol('aborted');
  try {
    for (;;) {
      if (signal?.aborted === true) return;
      const next =
        signal === undefined
          ? await iterator.next()
          : await new Promise<IteratorResult<T> | typeof aborted>((resolve, reject) => {
              const onAbort = () => resolve(aborted);
              signal.addEventListener('abort', onAbort, { once: true });
              iterator.next().then(
                (value) => {
                  signal.removeEventListener('abort', onAbort);
                  resolve(value);
                },
                (err: unknown) => {
                  signal.removeEventListener('abort', onAbort);
                  reject(toError(err));
                },
              );
            });
      if (next === aborted || next.done === true) return;
      yield next.value;
    }
  } finally {
    // Not awaited: after an abort, the source may still be waiting for input.
    void iterator.return?.(undefined);
  }
}

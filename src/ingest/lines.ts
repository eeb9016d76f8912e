/** One line of input: its text, or why it has none (it is too long, or not UTF-8). */
export type InputLine = { n: number; text: string } | { n: number; problem: string };

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
  source: AsyncIterable<Buffer | string>,
  maxBytes: number,
): AsyncGenerator<InputLine[]> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let overlong = false;
  let n = 0;
  const finish = (last: Buffer): InputLine => {
    n++;
    if (overlong || pendingBytes + last.length > maxBytes) {
      return { n, problem: `longer than ${maxBytes} bytes` };
    }
    let bytes = pending.length === 0 ? last : Buffer.concat([...pending, last]);
    if (bytes.length > 0 && bytes[bytes.length - 1] === 0x0d) bytes = bytes.subarray(0, bytes.length - 1);
    try {
      return { n, text: decoder.decode(bytes) };
    } catch {
      return { n, problem: 'not valid UTF-8' };
    }
  };
  for await (const piece of source) {
    const chunk = typeof piece === 'string' ? Buffer.from(piece) : piece;
    const lines: InputLine[] = [];
    let start = 0;
    for (let end = chunk.indexOf(NEWLINE); end !== -1; end = chunk.indexOf(NEWLINE, start)) {
      lines.push(finish(chunk.subarray(start, end)));
      pending = [];
      pendingBytes = 0;
      overlong = false;
      start = end + 1;
    }
    const rest = chunk.subarray(start);
    if (overlong || pendingBytes + rest.length > maxBytes) {
      overlong = true;
      pending = [];
    } else if (rest.length > 0) {
      pending.push(Buffer.from(rest)); // a copy: the source may reuse its buffer
    }
    pendingBytes += rest.length;
    if (lines.length > 0) yield lines;
  }
  if (pendingBytes > 0) yield [finish(Buffer.alloc(0))];
}

import fs from 'node:fs';
import split2 from 'split2';
import { parseRecord } from './record.js';
import type { EventRecord } from './schema/envelope.js';

/** What a read skipped: corrupt lines are counted; a torn last line is "not yet written". */
export interface ReadStats {
  corrupt: number;
  /** The file ended in a line without `\n` (a write in progress, or a crash): not counted as corrupt. */
  tornTail: boolean;
}

export interface ReadLine {
  record: EventRecord;
  /** The line as read, without `\n`. */
  line: string;
}

/**
 * Streams the records of one plain segment, as it was when the read began (a writer may append
 * meanwhile). Lines that are not valid records are skipped and counted in `stats`, never fatal.
 */
export async function* readSegmentRecords(file: string, stats: ReadStats): AsyncGenerator<ReadLine> {
  const size = await snapshotSize(file);
  if (size.bytes === 0) return;
  stats.tornTail ||= !size.endsWithNewline;
  const lines = fs.createReadStream(file, { end: size.bytes - 1 }).pipe(split2('\n'));
  let held: string | undefined;
  for await (const line of lines as AsyncIterable<string>) {
    if (held !== undefined) yield* parsed(held, stats);
    held = line;
  }
  // The last line of an unterminated file is torn: the writer has not finished it.
  if (held !== undefined && size.endsWithNewline) yield* parsed(held, stats);
}

function* parsed(line: string, stats: ReadStats): Generator<ReadLine> {
  const record = parseRecord(line);
  if (record === undefined) stats.corrupt++;
  else yield { record, line };
}

async function snapshotSize(file: string): Promise<{ bytes: number; endsWithNewline: boolean }> {
  const handle = await fs.promises.open(file, 'r');
  try {
    const bytes = (await handle.stat()).size;
    if (bytes === 0) return { bytes, endsWithNewline: true };
    const last = Buffer.alloc(1);
    await handle.read(last, 0, 1, bytes - 1);
    return { bytes, endsWithNewline: last[0] === 0x0a };
  } finally {
    await handle.close();
  }
}

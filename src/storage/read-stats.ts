/** What a read skipped: corrupt lines are counted; a torn last line is "not yet written". */
export interface ReadStats {
  corrupt: number;
  /** The file ended in a line without `\n` (a write in progress, or a crash): not counted as corrupt. */
  tornTail: boolean;
  /** Segment indexes that disagreed with their segment (which was scanned instead). */
  indexProblems?: string[];
  /** Compressed segments that could not be read to their end (a corrupt or truncated gzip). */
  damaged?: string[];
  /** Why the whole job was not read (a job directory without its LOG.json). */
  skipped?: string;
  /** Bytes read from disk (compressed bytes for a `.gz`): what a query cost. */
  bytesRead?: number;
}

/** Adds bytes read from disk to what the query cost. */
export function countRead(stats: ReadStats, bytes: number): void {
  stats.bytesRead = (stats.bytesRead ?? 0) + bytes;
}

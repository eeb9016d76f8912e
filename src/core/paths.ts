import path from 'node:path';

/** Where logs live unless told otherwise (DESIGN.md section 1). */
export const DEFAULT_EVENTS_DIR = path.join('.mmm', 'mapreduce', 'events');
export const MANIFEST_FILE = 'LOG.json';
export const QUARANTINE_DIR = 'quarantine';

const SEQ_DIGITS = 20;
const SEGMENT_NAME = /^events-(.+)-(\d{20})\.jsonl(\.gz)?$/;

export interface SegmentName {
  stream: string;
  baseSeq: number;
  compressed: boolean;
  file: string;
}

/** `events-<stream>-<baseSeq:20>.jsonl`: zero-padded so `ls` order is log order. */
export function segmentFileName(stream: string, baseSeq: number, compressed = false): string {
  return `events-${stream}-${String(baseSeq).padStart(SEQ_DIGITS, '0')}.jsonl${compressed ? '.gz' : ''}`;
}

export function parseSegmentFileName(file: string): SegmentName | undefined {
  const match = SEGMENT_NAME.exec(file);
  if (match === null) return undefined;
  return { stream: match[1] ?? '', baseSeq: Number(match[2]), compressed: match[3] !== undefined, file };
}

export function lockFileName(stream: string): string {
  return `${stream}.lock`;
}

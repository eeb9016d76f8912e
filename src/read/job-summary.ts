import fs from 'node:fs/promises';
import path from 'node:path';
import { chainOf, type Chain } from '../format/chain.js';
import { NotFoundError } from '../format/errors.js';
import { assertValidId } from '../format/ids.js';
import type { SegmentName } from '../format/paths.js';
import type { EventRecord } from '../format/schema/envelope.js';
import { readManifest, type Manifest } from '../storage/manifest.js';
import { readableSegments } from '../storage/segments.js';
import { walkStream } from '../storage/stream-walk.js';

export interface StreamSummary {
  stream: string;
  events: number;
  firstSeq: number | undefined;
  lastSeq: number | undefined;
  /** The hash of the stream's last line: what the next line's `prev` will be. */
  head: string;
  /** Lines whose seq or prev does not follow from the line before. */
  chainBreaks: number;
}

export interface JobLogSummary {
  jobId: string;
  jobDir: string;
  logId: string;
  events: number;
  bytes: number;
  byType: Record<string, number>;
  bySeverity: Record<string, number>;
  firstTs: string | undefined;
  lastTs: string | undefined;
  streams: StreamSummary[];
  corrupt: number;
  tornTails: number;
}

/** Reads a job's whole log once: counts, time range, and whether every stream's seq and chain hold. */
export async function summarizeJobLog(dir: string, jobId: string): Promise<JobLogSummary> {
  assertValidId('job id', jobId);
  const jobDir = path.join(path.resolve(dir), jobId);
  const manifest = await readManifest(jobDir);
  if (manifest === undefined) throw new NotFoundError(`no log for job ${jobId} in ${path.resolve(dir)}`);
  const summary: JobLogSummary = {
    jobId,
    jobDir,
    logId: manifest.log_id,
    events: 0,
    bytes: 0,
    byType: {},
    bySeverity: {},
    firstTs: undefined,
    lastTs: undefined,
    streams: [],
    corrupt: 0,
    tornTails: 0,
  };
  const segments = await readableSegments(jobDir);
  const chain = chainOf(manifest);
  for (const stream of [...new Set(segments.map((s) => s.stream))]) {
    const own = segments.filter((s) => s.stream === stream);
    const streamSummary = await summarizeStream(summary, manifest, chain, stream, own);
    summary.events += streamSummary.events;
    summary.streams.push(streamSummary);
  }
  return summary;
}

/** One stream's summary; the job's counts, bytes and time range go into `summary` on the way. */
async function summarizeStream(
  summary: JobLogSummary,
  manifest: Manifest,
  chain: Chain,
  stream: string,
  segments: SegmentName[],
): Promise<StreamSummary> {
  const start = manifest.start[stream] ?? { seq: 1, prev: chain.genesis(manifest.log_id, stream) };
  const streamSummary: StreamSummary = {
    stream,
    events: 0,
    firstSeq: undefined,
    lastSeq: undefined,
    head: start.prev,
    chainBreaks: 0,
  };
  let expectedSeq = start.seq;
  for await (const event of walkStream(summary.jobDir, segments, chain)) {
    if (event.kind === 'begin') {
      summary.bytes += (await fs.stat(event.file)).size;
    } else if (event.kind === 'end') {
      if (event.error !== undefined) throw event.error;
      summary.corrupt += event.stats.corrupt;
      if (event.stats.tornTail) summary.tornTails++;
    } else if (event.record !== undefined) {
      const { record } = event;
      if (record.seq !== expectedSeq || record.prev !== streamSummary.head) streamSummary.chainBreaks++;
      expectedSeq = record.seq + 1;
      streamSummary.head = event.hash;
      streamSummary.events++;
      streamSummary.firstSeq ??= record.seq;
      streamSummary.lastSeq = record.seq;
      countRecord(summary, record);
    }
  }
  return streamSummary;
}

function countRecord(summary: JobLogSummary, record: EventRecord): void {
  summary.byType[record.event_type] = (summary.byType[record.event_type] ?? 0) + 1;
  summary.bySeverity[record.severity] = (summary.bySeverity[record.severity] ?? 0) + 1;
  if (summary.firstTs === undefined || record.ts < summary.firstTs) summary.firstTs = record.ts;
  if (summary.lastTs === undefined || record.ts > summary.lastTs) summary.lastTs = record.ts;
}

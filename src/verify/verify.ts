import fs from 'node:fs/promises';
import path from 'node:path';
import { chainOf, type Chain } from '../format/chain.js';
import { DataError, InvalidArgumentError, NotFoundError } from '../format/errors.js';
import { QUARANTINE_DIR, type SegmentName } from '../format/paths.js';
import { acquireJobGate } from '../storage/job-gate.js';
import { missingManifest, openJob, scanJobDirs } from '../storage/jobs-dir.js';
import type { HeldLock } from '../storage/lock.js';
import { readManifest, type Manifest } from '../storage/manifest.js';
import { irregularSegmentEntries, readableSegments } from '../storage/segments.js';
import { missingNewestSegment } from '../storage/stream-records.js';
import {
  addProblem,
  emptyReport,
  type JobProblem,
  type StreamReport,
  type VerifyOptions,
  type VerifyReport,
} from './report.js';
import { HeadLookup, verifyStream } from './stream.js';

export type {
  Finding,
  JobProblem,
  Problem,
  ProblemKind,
  StreamReport,
  VerifyOptions,
  VerifyReport,
} from './report.js';

/** Parses `--expect-head stream=hash` values. */
export function parseExpectedHeads(values: string[]): Record<string, string> {
  const heads: Record<string, string> = {};
  for (const value of values) {
    const m = /^([^=]+)=([0-9a-f]{32})$/.exec(value.trim());
    if (m === null) {
      throw new InvalidArgumentError(
        `--expect-head takes stream=<32 hex digits> (or job/stream=...), not "${value}"`,
      );
    }
    heads[m[1] as string] = m[2] as string;
  }
  return heads;
}

/**
 * `events verify`: re-reads every stream from where LOG.json says it starts, checking seq contiguity,
 * the prev chain across segments and gzip members, that each line belongs to its job and stream and
 * that time never goes back, seals against the bytes and indexes against their segments (format.md).
 */
export async function verifyLog(dir: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  const streams: StreamReport[] = [];
  const jobs: JobProblem[] = [];
  let quarantined = 0;
  const selected = options.jobs?.length ? options.jobs : await everyJobDir(dir);
  for (const job of selected) {
    const opened = await openJobOrProblem(dir, job);
    if ('kind' in opened) {
      jobs.push(opened);
      continue;
    }
    quarantined += await countFiles(path.join(opened.jobDir, QUARANTINE_DIR));
    streams.push(...(await verifyJob(opened.jobDir, job, opened.manifest, options)));
  }
  streams.push(...unmatchedHeads(options.expectHeads ?? {}, streams, jobs));
  return {
    ok: jobs.length === 0 && streams.every((s) => s.problems.length === 0),
    streams,
    jobs,
    quarantined,
  };
}

/** The job's stream reports: those on disk, those LOG.json records, and those only an odd file names. */
async function verifyJob(
  jobDir: string,
  job: string,
  manifest: Manifest,
  options: VerifyOptions,
): Promise<StreamReport[]> {
  const segments = await readableSegments(jobDir);
  const irregular = await irregularSegmentEntries(jobDir);
  const records = await streamRecordFindings(jobDir);
  let chain: Chain | undefined;
  let keyProblem: string | undefined;
  try {
    chain = chainOf(manifest, options.key);
  } catch (err) {
    keyProblem = `${(err as Error).message}: ${(err as { hint?: string }).hint ?? 'verify needs its key'}`;
  }
  const names = new Set([
    ...segments.map((s) => s.stream),
    ...Object.keys(manifest.streams ?? {}),
    ...irregular.map((s) => s.stream),
  ]);
  const reports: StreamReport[] = [];
  for (const stream of [...names].sort()) {
    const own = segments.filter((s) => s.stream === stream);
    if (chain === undefined) {
      const report = emptyReport(job, stream, 1, '', own.length);
      addProblem(report, {
        kind: 'keyed-chain',
        segment: own[0]?.file ?? '',
        message: keyProblem ?? 'no key',
      });
      reports.push(report);
      continue;
    }
    const start = manifest.start[stream] ?? { seq: 1, prev: chain.genesis(manifest.log_id, stream) };
    const expected = options.expectHeads?.[`${job}/${stream}`] ?? options.expectHeads?.[stream];
    const head = new HeadLookup(expected);
    const report = await verifyStream(jobDir, job, stream, own, start, chain, head);
    for (const entry of irregular.filter((s) => s.stream === stream)) {
      addProblem(report, {
        kind: 'unreadable',
        segment: entry.file,
        seq: entry.baseSeq,
        message: 'it is not a regular file',
      });
    }
    addRecordProblems(report, records, own);
    if (expected !== undefined && expected !== report.headHash && !head.contains()) {
      const message = `the kept head ${expected} is not in the stream: events were removed or rewritten since it was kept`;
      addProblem(report, {
        kind: 'head-mismatch',
        segment: own.at(-1)?.file ?? '',
        seq: report.headSeq,
        message,
      });
    }
    reports.push(report);
  }
  return reports;
}

/** What streamRecordFindings found about this stream. */
function addRecordProblems(report: StreamReport, records: RecordFindings, own: SegmentName[]): void {
  const missing = records.missing.get(report.stream);
  if (missing !== undefined) {
    const message =
      own.length === 0
        ? 'every segment of the stream is gone (LOG.json records the stream and its newest segment)'
        : `the stream's newest segment is gone (LOG.json records it): what was written there is lost`;
    addProblem(report, { kind: 'missing-segment', segment: missing, message });
  }
  if (records.unrecorded.has(report.stream)) {
    const message = 'LOG.json does not record this stream: no writer of this log began it';
    addProblem(report, { kind: 'unrecorded-stream', segment: own[0]?.file ?? '', message });
  }
}

/** The job's manifest, or the problem that its directory holds a log's files without a readable one. */
async function openJobOrProblem(
  dir: string,
  job: string,
): Promise<Awaited<ReturnType<typeof openJob>> | JobProblem> {
  try {
    return await openJob(dir, job);
  } catch (err) {
    if (err instanceof DataError) return { kind: 'no-manifest', job, message: err.message };
    const missing = err instanceof NotFoundError ? await missingManifest(path.join(dir, job)) : undefined;
    if (missing === undefined) throw err;
    return { kind: 'no-manifest', job, message: missing };
  }
}

interface RecordFindings {
  missing: Map<string, string>;
  unrecorded: Set<string>;
}

/**
 * Streams LOG.json records whose newest segment is gone (stream → that segment), and streams on disk
 * it does not record (format.md section 3). A writer creates a segment, then records it, both under the
 * job's gate: what looks amiss without the gate is looked at again holding it, when it can be taken.
 */
async function streamRecordFindings(jobDir: string): Promise<RecordFindings> {
  const first = await lookAtRecords(jobDir);
  if (first.missing.size === 0 && first.unrecorded.size === 0) return first;
  let gate: HeldLock | undefined;
  try {
    gate = await acquireJobGate(jobDir);
  } catch {
    // A read-only archive, or a gate held too long: what was seen stands.
    return first;
  }
  try {
    return await lookAtRecords(jobDir);
  } finally {
    await gate.release();
  }
}

async function lookAtRecords(jobDir: string): Promise<RecordFindings> {
  const manifest = await readManifest(jobDir);
  const missing = new Map<string, string>();
  const unrecorded = new Set<string>();
  if (manifest?.streams === undefined) return { missing, unrecorded };
  const segments = await readableSegments(jobDir);
  for (const stream of Object.keys(manifest.streams)) {
    const gone = missingNewestSegment(manifest, stream, segments);
    if (gone !== undefined) missing.set(stream, gone);
  }
  for (const s of segments) if (manifest.streams[s.stream] === undefined) unrecorded.add(s.stream);
  return { missing, unrecorded };
}

/**
 * A head kept elsewhere that names a stream verify did not find is a failure, not something to skip:
 * the stream may be exactly what was removed.
 */
function unmatchedHeads(
  expected: Record<string, string>,
  streams: StreamReport[],
  jobs: JobProblem[],
): StreamReport[] {
  const reports: StreamReport[] = [];
  for (const [key, hash] of Object.entries(expected)) {
    const slash = key.indexOf('/');
    const [job, stream] = slash === -1 ? ['*', key] : [key.slice(0, slash), key.slice(slash + 1)];
    const found = streams.some((s) => s.stream === stream && (job === '*' || s.job === job));
    if (found || jobs.some((j) => j.job === job)) continue;
    const report = emptyReport(job, stream, 1, '', 0);
    const message = `no stream ${key} here: the kept head ${hash} cannot be found (the stream, or its job, is gone)`;
    addProblem(report, { kind: 'head-mismatch', segment: '', message });
    reports.push(report);
  }
  return reports;
}

async function countFiles(dir: string): Promise<number> {
  try {
    return (await fs.readdir(dir)).length;
  } catch {
    return 0;
  }
}

/** Every job directory, those without their LOG.json included (damage verify reports): one listing. */
async function everyJobDir(dir: string): Promise<string[]> {
  const { jobs, withoutManifest } = await scanJobDirs(dir);
  return [...jobs, ...withoutManifest.map((d) => d.job)].sort();
}

import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { chainOf, type Chain } from '../format/chain.js';
import { parseMicros } from '../format/clock.js';
import { DataError, InvalidArgumentError, NotFoundError } from '../format/errors.js';
import { acquireJobGate } from '../storage/job-gate.js';
import type { HeldLock } from '../storage/lock.js';
import { readManifest } from '../storage/manifest.js';
import { isCompressed, rangeChunks, type ReadStats } from '../storage/line-reader.js';
import { parseJobDirName, QUARANTINE_DIR, type SegmentName } from '../format/paths.js';
import { parseRecord } from '../format/record.js';
import { irregularSegmentEntries, readableSegments } from '../storage/segments.js';
import { missingNewestSegment } from '../storage/stream-records.js';
import { checkSegmentIndex, readSegmentIndex } from '../storage/segment-index.js';
import { listJobDirsWithoutManifest, listJobIds, missingManifest, openJob } from '../storage/jobs-dir.js';

export type ProblemKind =
  | 'corrupt-line'
  | 'seq-gap'
  | 'seq-order'
  | 'chain-break'
  | 'wrong-owner'
  | 'time-backwards'
  | 'segment-start'
  | 'seal-mismatch'
  | 'index-mismatch'
  | 'unreadable'
  | 'head-mismatch'
  | 'keyed-chain'
  | 'missing-segment'
  | 'unrecorded-stream'
  | 'no-manifest';

/** The first problem of one kind in a stream: where it is, precisely enough to look at it. */
export interface Problem {
  kind: ProblemKind;
  job: string;
  stream: string;
  segment: string;
  /** The seq of the line at fault (or expected there). */
  seq: number | undefined;
  /** Byte offset of the line in the segment (of its decompressed bytes for a `.gz`). */
  offset: number | undefined;
  message: string;
  /** How many problems of this kind the stream has in all. */
  count: number;
}

export interface StreamReport {
  job: string;
  stream: string;
  /** Where LOG.json says the stream starts (after a prune). */
  startSeq: number;
  events: number;
  headSeq: number;
  /** The hash of the last line: keep it elsewhere and pass it to --expect-head later. */
  headHash: string;
  segments: number;
  /** A last line without `\n` in the newest segment: a crash mid-write (recovery quarantines it). */
  tornTail: boolean;
  /** Older segments without a seal (a crash before sealing): `events rotate` or the next writer seals them. */
  unsealed: string[];
  problems: Problem[];
}

/** A job directory verify could not read as a log at all (its LOG.json is gone or broken). */
export interface JobProblem {
  kind: 'no-manifest';
  job: string;
  message: string;
}

export interface VerifyReport {
  ok: boolean;
  streams: StreamReport[];
  /** Job directories that hold a log's files but no readable LOG.json: damage, not absence. */
  jobs: JobProblem[];
  /** Files in quarantine/ (torn tails cut off by recovery): not problems, but worth knowing. */
  quarantined: number;
}

export interface VerifyOptions {
  jobs?: string[];
  /** The key of keyed logs (default: EVENTS_HMAC_KEY / EVENTS_HMAC_KEY_FILE). */
  key?: Buffer;
  /** `stream` (or `job/stream`) → a head hash kept from an earlier verify. */
  expectHeads?: Record<string, string>;
}

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
  const selected = options.jobs?.length
    ? options.jobs
    : [...(await listJobIds(dir)), ...(await listJobDirsWithoutManifest(dir)).map((d) => d.job)].sort();
  for (const job of selected) {
    const opened = await openJobOrProblem(dir, job);
    if ('kind' in opened) {
      jobs.push(opened);
      continue;
    }
    const { jobDir, manifest } = opened;
    quarantined += await countFiles(path.join(jobDir, QUARANTINE_DIR));
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
    for (const stream of [...names].sort()) {
      const own = segments.filter((s) => s.stream === stream);
      if (chain === undefined) {
        const report = emptyReport(job, stream, 1, '', own.length);
        addProblem(report, 'keyed-chain', own[0]?.file ?? '', undefined, undefined, keyProblem ?? 'no key');
        streams.push(report);
        continue;
      }
      const start = manifest.start[stream] ?? { seq: 1, prev: chain.genesis(manifest.log_id, stream) };
      const report = await verifyStream(jobDir, job, stream, own, start, chain);
      for (const entry of irregular.filter((s) => s.stream === stream)) {
        addProblem(report, 'unreadable', entry.file, entry.baseSeq, undefined, 'it is not a regular file');
      }
      const missing = records.missing.get(stream);
      if (missing !== undefined) {
        addProblem(
          report,
          'missing-segment',
          missing,
          undefined,
          undefined,
          own.length === 0
            ? 'every segment of the stream is gone (LOG.json records the stream and its newest segment)'
            : `the stream's newest segment is gone (LOG.json records it): what was written there is lost`,
        );
      }
      if (records.unrecorded.has(stream)) {
        addProblem(
          report,
          'unrecorded-stream',
          own[0]?.file ?? '',
          undefined,
          undefined,
          'LOG.json does not record this stream: no writer of this log began it',
        );
      }
      const expected = options.expectHeads?.[`${job}/${stream}`] ?? options.expectHeads?.[stream];
      if (
        expected !== undefined &&
        expected !== report.headHash &&
        !(await chainContains(jobDir, own, expected, chain))
      ) {
        addProblem(
          report,
          'head-mismatch',
          own.at(-1)?.file ?? '',
          report.headSeq,
          undefined,
          `the kept head ${expected} is not in the stream: events were removed or rewritten since it was kept`,
        );
      }
      streams.push(report);
    }
  }
  streams.push(...unmatchedHeads(options.expectHeads ?? {}, streams, jobs));
  return {
    ok: jobs.length === 0 && streams.every((s) => s.problems.length === 0),
    streams,
    jobs,
    quarantined,
  };
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

/**
 * Streams LOG.json records whose newest segment is gone (stream → that segment), and streams on disk
 * it does not record (format.md section 3). A writer creates a segment, then records it, both under the
 * job's gate: what looks amiss without the gate is looked at again holding it, when it can be taken.
 */
async function streamRecordFindings(
  jobDir: string,
): Promise<{ missing: Map<string, string>; unrecorded: Set<string> }> {
  const look = async () => {
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
  };
  const first = await look();
  if (first.missing.size === 0 && first.unrecorded.size === 0) return first;
  let gate: HeldLock | undefined;
  try {
    gate = await acquireJobGate(jobDir);
  } catch {
    // A read-only archive, or a gate held too long: what was seen stands.
    return first;
  }
  try {
    return await look();
  } finally {
    await gate.release();
  }
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
    addProblem(
      report,
      'head-mismatch',
      '',
      undefined,
      undefined,
      `no stream ${key} here: the kept head ${hash} cannot be found (the stream, or its job, is gone)`,
    );
    reports.push(report);
  }
  return reports;
}

async function verifyStream(
  jobDir: string,
  job: string,
  stream: string,
  segments: SegmentName[],
  start: { seq: number; prev: string },
  chain: Chain,
): Promise<StreamReport> {
  const report = emptyReport(job, stream, start.seq, start.prev, segments.length);
  // An archived log of a reused job id lives in `<job id>@<log id>` (format.md section 10).
  const { jobId } = parseJobDirName(job);
  let expectedSeq = start.seq;
  let prev = start.prev;
  let lastTsUs = -Infinity;
  let previous: LineAt | undefined;
  let pending: PendingBreak | undefined;
  for (const [i, segment] of segments.entries()) {
    const file = path.join(jobDir, segment.file);
    const newest = i === segments.length - 1;
    const stats: ReadStats = { corrupt: 0, tornTail: false };
    const sha = crypto.createHash('sha256');
    let offset = 0;
    let first = true;
    try {
      for await (const chunk of rangeChunks({ file, from: 0 }, stats)) {
        sha.update(chunk);
        for (
          let lineStart = 0, nl = chunk.indexOf(0x0a);
          nl !== -1;
          lineStart = nl + 1, nl = chunk.indexOf(0x0a, lineStart)
        ) {
          const bytes = chunk.subarray(lineStart, nl);
          const at = offset + lineStart;
          const record = parseRecord(bytes.toString('utf8'));
          const here = { segment: segment.file, offset: at };
          if (record === undefined) {
            addProblem(
              report,
              'corrupt-line',
              segment.file,
              expectedSeq,
              at,
              'a line that is not a valid record',
            );
            // The chain skips it: if the next line chains to the last good one, it was only inserted.
            settle(report, pending, false);
            pending = undefined;
            continue;
          }
          // Lines before where the stream now starts: a prune that stopped between LOG.json and the files.
          if (record.seq < start.seq) continue;
          if (first && record.seq !== segment.baseSeq) {
            addProblem(
              report,
              'segment-start',
              segment.file,
              record.seq,
              at,
              `the segment is named for seq ${segment.baseSeq} but starts at ${record.seq}`,
            );
          }
          first = false;
          if (record.seq > expectedSeq) {
            addProblem(
              report,
              'seq-gap',
              segment.file,
              expectedSeq,
              at,
              `seq ${expectedSeq} to ${record.seq - 1} missing`,
            );
          } else if (record.seq < expectedSeq) {
            addProblem(
              report,
              'seq-order',
              segment.file,
              record.seq,
              at,
              `seq ${record.seq} after seq ${expectedSeq - 1}`,
            );
          }
          // A line whose prev does not match says the line before it changed, unless the next line
          // does not match this one either: then it is this line that changed (its prev field).
          const breaks = record.prev !== prev;
          settle(report, pending, breaks);
          pending =
            breaks && !(pending !== undefined)
              ? { line: { ...here, seq: record.seq }, before: previous, recorded: record.prev, actual: prev }
              : undefined;
          if (record.stream !== stream || record.job_id !== jobId) {
            addProblem(
              report,
              'wrong-owner',
              segment.file,
              record.seq,
              at,
              `a line of ${record.job_id}/${record.stream} in ${job}/${stream}`,
            );
          }
          const tsUs = parseMicros(record.ts);
          if (tsUs < lastTsUs)
            addProblem(
              report,
              'time-backwards',
              segment.file,
              record.seq,
              at,
              `time goes back to ${record.ts}`,
            );
          lastTsUs = Math.max(lastTsUs, tsUs);
          prev = chain.hash(bytes);
          previous = { ...here, seq: record.seq };
          expectedSeq = Math.max(expectedSeq, record.seq + 1);
          report.events++;
          report.headSeq = record.seq;
          report.headHash = prev;
        }
        offset += chunk.length;
      }
    } catch (err) {
      addProblem(
        report,
        'unreadable',
        segment.file,
        expectedSeq,
        offset,
        `cannot read it: ${(err as Error).message}`,
      );
    }
    for (const damage of stats.damaged ?? []) {
      addProblem(
        report,
        'unreadable',
        segment.file,
        expectedSeq,
        offset,
        `the gzip data ends early or is corrupt (${damage})`,
      );
    }
    if (stats.tornTail) {
      if (newest && !isCompressed(file)) report.tornTail = true;
      else
        addProblem(
          report,
          'corrupt-line',
          segment.file,
          expectedSeq,
          offset,
          'the segment ends in the middle of a line',
        );
    }
    await checkSeal(report, file, segment, sha.digest('hex'), offset, newest);
  }
  settle(report, pending, false);
  return report;
}

interface LineAt {
  segment: string;
  offset: number;
  seq: number;
}

/** A line whose prev did not match, waiting for the next line to tell which of the two changed. */
interface PendingBreak {
  line: LineAt;
  before: LineAt | undefined;
  recorded: string;
  actual: string;
}

function settle(report: StreamReport, pending: PendingBreak | undefined, nextAlsoBreaks: boolean): void {
  if (pending === undefined) return;
  const at = nextAlsoBreaks ? pending.line : (pending.before ?? pending.line);
  const what = nextAlsoBreaks
    ? `seq ${at.seq} does not chain to the line before it, nor the next line to it: this line was changed`
    : `the chain breaks after seq ${at.seq}: it hashes to ${pending.actual}, but the next line records ${pending.recorded} (a line was changed, removed or inserted here)`;
  addProblem(report, 'chain-break', at.segment, at.seq, at.offset, what);
}

/** A sealed segment's bytes must hash to its seal; its index must agree with it line by line. */
async function checkSeal(
  report: StreamReport,
  file: string,
  segment: SegmentName,
  sha: string,
  bytes: number,
  newest: boolean,
) {
  const size = (await fs.stat(file)).size;
  const read = await readSegmentIndex(file, size);
  const seal = 'index' in read ? read.index.seal : undefined;
  if (seal !== undefined && (seal.sha256 !== sha || seal.bytes !== bytes)) {
    addProblem(
      report,
      'seal-mismatch',
      segment.file,
      seal.seq[0],
      0,
      `its bytes no longer hash to its seal (${bytes} bytes, sealed ${seal.bytes})`,
    );
  }
  // A crash between a rotation and its seal: the chain still covers the segment; rotate seals it.
  if (!newest && seal === undefined) report.unsealed.push(segment.file);
  if ('problem' in read && read.problem === 'no index') return;
  const problem = await checkSegmentIndex(file);
  if (problem !== undefined)
    addProblem(
      report,
      'index-mismatch',
      segment.file,
      undefined,
      undefined,
      `its index disagrees: ${problem}`,
    );
}

/** Whether a hash is one of the stream's line hashes (an older head: the stream has grown since). */
async function chainContains(
  jobDir: string,
  segments: SegmentName[],
  hash: string,
  chain: Chain,
): Promise<boolean> {
  const stats: ReadStats = { corrupt: 0, tornTail: false };
  for (const segment of segments) {
    for await (const chunk of rangeChunks({ file: path.join(jobDir, segment.file), from: 0 }, stats)) {
      for (
        let lineStart = 0, nl = chunk.indexOf(0x0a);
        nl !== -1;
        lineStart = nl + 1, nl = chunk.indexOf(0x0a, lineStart)
      ) {
        if (chain.hash(chunk.subarray(lineStart, nl)) === hash) return true;
      }
    }
  }
  return false;
}

function emptyReport(
  job: string,
  stream: string,
  startSeq: number,
  prev: string,
  segments: number,
): StreamReport {
  return {
    job,
    stream,
    startSeq,
    events: 0,
    headSeq: startSeq - 1,
    headHash: prev,
    segments,
    tornTail: false,
    unsealed: [],
    problems: [],
  };
}

function addProblem(
  report: StreamReport,
  kind: ProblemKind,
  segment: string,
  seq: number | undefined,
  offset: number | undefined,
  message: string,
): void {
  const existing = report.problems.find((p) => p.kind === kind);
  if (existing !== undefined) existing.count++;
  else
    report.problems.push({
      kind,
      job: report.job,
      stream: report.stream,
      segment,
      seq,
      offset,
      message,
      count: 1,
    });
}

async function countFiles(dir: string): Promise<number> {
  try {
    return (await fs.readdir(dir)).length;
  } catch {
    return 0;
  }
}

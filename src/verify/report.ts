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

/** A problem as a check finds it: the report adds whose stream it is and counts it. */
export interface Finding {
  kind: ProblemKind;
  segment: string;
  seq?: number | undefined;
  offset?: number | undefined;
  message: string;
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

/** Where a check puts what it finds. */
export type FindingSink = (finding: Finding) => void;

export function emptyReport(
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

/** Records a finding: the first of its kind as it is, the others only counted. */
export function addProblem(report: StreamReport, finding: Finding): void {
  const existing = report.problems.find((p) => p.kind === finding.kind);
  if (existing !== undefined) {
    existing.count++;
    return;
  }
  const { kind, segment, seq, offset, message } = finding;
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

/** A sink that adds to a report. */
export function sinkOf(report: StreamReport): FindingSink {
  return (finding) => addProblem(report, finding);
}

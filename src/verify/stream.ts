import type { Chain } from '../format/chain.js';
import { parseJobDirName, type SegmentName } from '../format/paths.js';
import { walkStream, type WalkLine } from '../storage/stream-walk.js';
import { ChainCheck, checkOwner, SeqCheck, TimeCheck, type RecordLine } from './line-checks.js';
import { emptyReport, sinkOf, type FindingSink, type StreamReport } from './report.js';
import { checkSeal, checkSegmentRead, SegmentIndexCheck } from './segment-checks.js';

/**
 * Whether a head kept elsewhere is one of the stream's line hashes (an older head: the stream has grown
 * since). Looked for in the walk that verifies the stream, line by line in log order; a segment that
 * could not be read before it was found leaves the answer unknown: asking then throws that failure.
 */
export class HeadLookup {
  private found = false;
  private failure: Error | undefined;

  constructor(private readonly hash: string | undefined) {}

  see(line: WalkLine): void {
    if (line.hash === this.hash && this.failure === undefined) this.found = true;
  }

  failed(error: Error | undefined): void {
    if (!this.found) this.failure ??= error;
  }

  contains(): boolean {
    if (this.found) return true;
    if (this.failure !== undefined) throw this.failure;
    return false;
  }
}

/** The checks of each line, in the order their findings are reported. */
class LineChecks {
  readonly seq: SeqCheck;
  readonly chain: ChainCheck;
  private readonly time: TimeCheck;
  private readonly jobId: string;

  constructor(
    private readonly add: FindingSink,
    private readonly report: StreamReport,
    private readonly start: { seq: number; prev: string },
  ) {
    this.seq = new SeqCheck(add, start.seq);
    this.chain = new ChainCheck(add, start.prev);
    this.time = new TimeCheck(add);
    // An archived log of a reused job id lives in `<job id>@<log id>` (format.md section 10).
    this.jobId = parseJobDirName(report.job).jobId;
  }

  line(line: WalkLine): void {
    if (line.record === undefined) {
      const message = 'a line that is not a valid record';
      this.add({
        kind: 'corrupt-line',
        segment: line.segment.file,
        seq: this.seq.expected,
        offset: line.offset,
        message,
      });
      this.chain.skip();
      return;
    }
    // Lines before where the stream now starts: a prune that stopped between LOG.json and the files.
    if (line.record.seq < this.start.seq) return;
    const record = line as RecordLine;
    this.seq.check(record);
    this.chain.check(record);
    checkOwner(this.add, record, this.jobId, this.report.job, this.report.stream);
    this.time.check(record);
    this.report.events++;
    this.report.headSeq = record.record.seq;
    this.report.headHash = record.hash;
  }
}

/**
 * Verifies one stream from where LOG.json says it starts (format.md sections 5 and 8): each line's seq,
 * chain, owner and time, and each segment's read, seal and index. `head` looks for a kept head on the way.
 */
export async function verifyStream(
  jobDir: string,
  job: string,
  stream: string,
  segments: SegmentName[],
  start: { seq: number; prev: string },
  chain: Chain,
  head: HeadLookup,
): Promise<StreamReport> {
  const report = emptyReport(job, stream, start.seq, start.prev, segments.length);
  const add = sinkOf(report);
  const checks = new LineChecks(add, report, start);
  let index: SegmentIndexCheck | undefined;
  for await (const event of walkStream(jobDir, segments, chain, { digest: true })) {
    if (event.kind === 'begin') {
      checks.seq.begin();
      index = await SegmentIndexCheck.begin(event.file);
    } else if (event.kind === 'line') {
      head.see(event);
      checks.line(event);
      index?.line(event);
    } else {
      head.failed(event.error);
      checkSegmentRead(add, report, event, checks.seq.expected);
      if (index !== undefined) checkSeal(add, report, event, index);
    }
  }
  checks.chain.finish();
  return report;
}

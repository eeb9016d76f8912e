import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { EventLog } from '../src/index.js';
import { summarizeJobLog } from '../src/read/job-summary.js';
import { checkChain, logIdOf, progressEvent, rawLines, ROOT, segmentFiles, tempDir } from './helpers.js';

const BASIC = path.join(ROOT, 'fixtures', 'basic');

describe('format v1 fixtures', () => {
  it('reads the checked-in log with its chain intact and its counts right', async () => {
    const summary = await summarizeJobLog(BASIC, 'job-basic');
    const lines = rawLines(segmentFiles(path.join(BASIC, 'job-basic'))[0] as string).map((l) =>
      JSON.parse(l),
    );
    assert.equal(summary.events, lines.length);
    assert.equal(summary.corrupt, 0);
    assert.deepEqual(
      summary.streams.map((s) => [s.stream, s.chainBreaks, s.lastSeq]),
      [['main', 0, lines.length]],
    );
    const byType: Record<string, number> = {};
    for (const line of lines) byType[line.event_type] = (byType[line.event_type] ?? 0) + 1;
    assert.deepEqual(summary.byType, byType);
    assert.equal(summary.firstTs, lines[0].ts);
    assert.equal(summary.lastTs, lines.at(-1).ts);
  });

  it('continues the seq and chain of a log written earlier', async () => {
    const dir = tempDir();
    fs.cpSync(BASIC, dir, { recursive: true });
    const jobDir = path.join(dir, 'job-basic');
    const before = rawLines(segmentFiles(jobDir)[0] as string).length;
    const log = await EventLog.open({ dir, jobId: 'job-basic' });
    const receipt = await log.append(progressEvent(1));
    await log.close();
    assert.equal(receipt.seq, before + 1);
    assert.equal(checkChain(segmentFiles(jobDir)[0] as string, logIdOf(jobDir), 'main').length, before + 1);
  });

  it('counts corrupt lines without stopping, and does not count a torn last line', async () => {
    const dir = tempDir();
    fs.cpSync(BASIC, dir, { recursive: true });
    const file = segmentFiles(path.join(dir, 'job-basic'))[0] as string;
    const lines = rawLines(file);
    lines.splice(10, 0, 'not json at all', '{"seq":"wrong types"}');
    fs.writeFileSync(file, lines.join('\n') + '\n{"seq":999,"ts":"2026-');
    const summary = await summarizeJobLog(dir, 'job-basic');
    assert.equal(summary.corrupt, 2);
    assert.equal(summary.tornTails, 1);
    assert.equal(summary.events, lines.length - 2);
  });
});

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { describe, it } from 'node:test';
import { EventLog } from '../src/index.js';
import { scanSegmentIndex, writeSegmentIndex } from '../src/storage/segment-index.js';
import { progressEvent, rawLines, runCli, segmentFiles, tempDir } from './helpers.js';

/*
 * An index is derived data, never trusted over its segment (format.md section 8): whatever bytes are
 * inserted, removed or duplicated in an indexed segment, a query prints every valid line still in the
 * file exactly once and counts exactly its other lines as corrupt, reading the whole segment (and
 * saying so) where its index no longer agrees with it.
 */

const GARBAGE = 'not a record {';

/**
 * A job `j` of 118 events, rotating every ~6000 bytes with index blocks of ~1500 (about five lines):
 * five sealed segments, and the active one (seq 101..118) left plain and unsealed, its index in
 * four blocks that reach its end. Agents change every ten events, so that a filter skips blocks.
 * The second sealed segment is decompressed back to plain, as a user might, index left in place.
 */
async function indexedLog(): Promise<{ dir: string; jobDir: string; active: string; sealed: string }> {
  const dir = tempDir();
  const log = await EventLog.open({ dir, jobId: 'j', rotateBytes: 6000, indexBlockBytes: 1500 });
  for (let i = 0; i < 118; i++) await log.append(progressEvent(i, `agent-${Math.floor(i / 10) % 3}`));
  await log.close();
  const jobDir = path.join(dir, 'j');
  const files = segmentFiles(jobDir);
  const gz = files[1] as string;
  assert.ok(gz.endsWith('.jsonl.gz'), `${gz} is compressed`);
  fs.writeFileSync(gz.slice(0, -3), zlib.gunzipSync(fs.readFileSync(gz)));
  fs.rmSync(gz);
  const active = files.at(-1) as string;
  assert.match(path.basename(active), /^events-main-0+101\.jsonl$/);
  const entries = rawLines(idxOf(active)).map((l) => JSON.parse(l) as { seal?: true; off?: number[] });
  assert.ok(entries.length >= 3 && entries.every((e) => e.seal === undefined), 'several blocks, unsealed');
  assert.equal(entries.at(-1)?.off?.[1], fs.statSync(active).size, 'the index reaches the end');
  assert.ok(
    rawLines(idxOf(gz.slice(0, -3)))
      .at(-1)
      ?.includes('"seal":true'),
    'the sealed one has a seal',
  );
  return { dir, jobDir, active, sealed: gz.slice(0, -3) };
}

const idxOf = (segment: string) => segment.replace(/\.jsonl$/, '.idx');

function editLines(file: string, edit: (lines: string[]) => void): void {
  const lines = rawLines(file);
  edit(lines);
  fs.writeFileSync(file, lines.join('\n') + '\n');
}

/** Whether a line is a record, by the test's own reading: a JSON object with an integer seq. */
function isRecord(line: string): boolean {
  try {
    const value = JSON.parse(line) as unknown;
    return typeof value === 'object' && value !== null && Number.isInteger((value as { seq?: unknown }).seq);
  } catch {
    return false;
  }
}

/** The lines of all the job's segments: the records (sorted), and how many lines are not. */
function fileContents(jobDir: string): { records: string[]; others: number } {
  const lines = segmentFiles(jobDir).flatMap((f) => rawLines(f));
  return { records: lines.filter(isRecord).sort(), others: lines.filter((l) => !isRecord(l)).length };
}

function corruptCount(stderr: string): number {
  const match = /warning: skipped (\d+) corrupt lines? in j /.exec(stderr);
  return match === null ? 0 : Number(match[1]);
}

/**
 * `events query --json` prints each record of the files exactly once, counts their other lines as
 * corrupt, and warns that it ignored the index of exactly the segments named: unfiltered, with and
 * without the indexes, and with filters that skip blocks (then only the lines read are counted: all
 * of them where an index is ignored, as every corrupt line is in the segment tampered with).
 */
async function assertQueryReadsFiles(dir: string, jobDir: string, ignored: string[]): Promise<void> {
  const { records, others } = fileContents(jobDir);
  const runs: [string[], (line: string) => boolean][] = [
    [[], () => true],
    [['--no-index'], () => true],
    [['--agent', 'agent-1'], (line) => line.includes('"agent_id":"agent-1"')],
    [['--agent', 'agent-2'], (line) => line.includes('"agent_id":"agent-2"')],
  ];
  for (const [flags, keep] of runs) {
    const args = ['query', '--dir', dir, '--json', ...flags];
    const query = await runCli(args);
    const what = `${flags.join(' ')}\n${query.stderr}`;
    assert.equal(query.code, 0, what);
    const printed = query.stdout.split('\n').filter(Boolean).sort();
    assert.deepEqual(printed, records.filter(keep), what);
    const filtered = flags[0] === '--agent' && ignored.length === 0;
    if (filtered) assert.ok(corruptCount(query.stderr) <= others, what);
    else assert.equal(corruptCount(query.stderr), others, what);
    const warned = [...query.stderr.matchAll(/^warning: ignored the index of j\/([^:]+): /gm)].map(
      (m) => m[1],
    );
    assert.deepEqual(warned, flags[0] === '--no-index' ? [] : ignored.map((f) => path.basename(f)), what);
  }
}

type Tamper = (lines: string[], at: number) => void;
const TAMPERS: [string, Tamper][] = [
  ['a garbage line inserted', (lines, at) => lines.splice(at, 0, GARBAGE)],
  ['a line deleted', (lines, at) => lines.splice(at, 1)],
  ['a line duplicated', (lines, at) => lines.splice(at, 0, lines[at] as string)],
];

describe(
  'index trust: an index that no longer agrees with its segment is not used',
  { concurrency: 4 },
  () => {
    it('the untouched log is read through its indexes, without warnings', async () => {
      const { dir, jobDir } = await indexedLog();
      await assertQueryReadsFiles(dir, jobDir, []);
    });

    for (const [name, tamper] of TAMPERS) {
      it(`${name} in the middle of the indexed active segment`, async () => {
        const { dir, jobDir, active } = await indexedLog();
        editLines(active, (lines) => tamper(lines, Math.floor(lines.length / 2)));
        await assertQueryReadsFiles(dir, jobDir, [active]);
      });

      it(`${name} in the middle of the active segment, whose index lags it by a block`, async () => {
        const { dir, jobDir, active } = await indexedLog();
        // As a writer leaves it between two blocks: the last lines are not indexed yet, but scanned.
        editLines(idxOf(active), (entries) => entries.pop());
        editLines(active, (lines) => tamper(lines, 7));
        await assertQueryReadsFiles(dir, jobDir, [active]);
      });

      it(`${name} in the middle of a sealed plain segment`, async () => {
        const { dir, jobDir, sealed } = await indexedLog();
        editLines(sealed, (lines) => tamper(lines, Math.floor(lines.length / 2)));
        await assertQueryReadsFiles(dir, jobDir, [sealed]);
      });

      it(`${name} at the last line of a block of the active segment`, async () => {
        const { dir, jobDir, active } = await indexedLog();
        const first = JSON.parse(rawLines(idxOf(active))[0] as string) as { lines: number[] };
        editLines(active, (lines) => tamper(lines, (first.lines[1] as number) - 1));
        await assertQueryReadsFiles(dir, jobDir, [active]);
      });
    }

    it('a garbage line after the indexed blocks of the active segment leaves its index trusted', async () => {
      const { dir, jobDir, active } = await indexedLog();
      fs.appendFileSync(active, GARBAGE + '\n');
      await assertQueryReadsFiles(dir, jobDir, []);
    });

    it('a block that starts with corrupt lines (as a scan indexes them) is still trusted', async () => {
      const { dir, jobDir, active } = await indexedLog();
      const entries = rawLines(idxOf(active)).map((l) => JSON.parse(l) as { lines: number[] });
      const end = (entries[1]?.lines[0] as number) + (entries[1]?.lines[1] as number);
      // Garbage after block 1 (agent-1) and the index scanned again: block 2 (agent-2) starts with it.
      editLines(active, (lines) => lines.splice(end, 0, GARBAGE, GARBAGE));
      const scan = await scanSegmentIndex(active, { seal: false, blockBytes: 1500 });
      await writeSegmentIndex(active, scan);
      const start = scan.blocks[2]?.off[0] as number;
      const bytes = fs.readFileSync(active).toString('utf8', start, start + GARBAGE.length);
      assert.equal(bytes, GARBAGE, 'block 2 starts with the garbage');
      await assertQueryReadsFiles(dir, jobDir, []);
    });
  },
);

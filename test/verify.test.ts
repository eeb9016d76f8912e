import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { EventLog, verifyLog } from '../src/index.js';
import { progressEvent, ROOT, runCli, tempDir } from './helpers.js';
import { TAMPER_KINDS, tamper, tamperableLog } from './tamper.js';

/** How many random tamperings `npm test` tries; `npm run test:faults` tries 1,000. */
const TAMPERINGS = Number(process.env.MMM_TAMPERINGS ?? 60);

describe('events verify', () => {
  it('passes clean logs (plain, rotated, compressed, pruned) and prints each head', async () => {
    const dir = tempDir();
    await tamperableLog(dir);
    const run = await runCli(['verify', '--dir', dir]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(
      run.stdout,
      /^ok audit\/main: 150 events in \d+ segments; head seq 150 hash [0-9a-f]{32}\n$/,
    );
    for (const fixture of ['basic', 'insight']) {
      const clean = await runCli(['verify', '--dir', path.join(ROOT, 'fixtures', fixture)]);
      assert.equal(clean.code, 0, clean.stdout);
    }
    await new Promise((r) => setTimeout(r, 1100));
    const pruned = await runCli(['prune', '--dir', dir, '--older-than', '1s']);
    assert.equal(pruned.code, 0, pruned.stderr);
    const after = await runCli(['verify', '--dir', dir, '--json']);
    const report = JSON.parse(after.stdout) as { ok: boolean; streams: { startSeq: number }[] };
    assert.equal(after.code, 0, after.stdout);
    assert.ok((report.streams[0]?.startSeq ?? 0) > 1, 'verifies from where LOG.json says the stream starts');
  });

  it('names the corrupt lines of the damaged fixture and exits 4', async () => {
    const run = await runCli(['verify', '--dir', path.join(ROOT, 'fixtures', 'damaged')]);
    assert.equal(run.code, 4);
    assert.match(run.stdout, /corrupt-line at events-main-00000000000000000001\.jsonl, seq 11, byte 3407/);
    assert.match(run.stdout, /ok job-damaged\/worker-2: .*a torn last line/);
  });

  it('--expect-head catches the newest events cut off, and accepts a log that has grown', async () => {
    const dir = tempDir();
    const log = await EventLog.open({ dir, jobId: 'j' });
    for (let i = 0; i < 10; i++) await log.append(progressEvent(i));
    await log.close();
    const first = JSON.parse((await runCli(['verify', '--dir', dir, '--json'])).stdout) as {
      streams: { headHash: string }[];
    };
    const kept = first.streams[0]?.headHash as string;
    const again = await EventLog.open({ dir, jobId: 'j' });
    await again.append(progressEvent(11));
    await again.close();
    assert.equal(
      (await runCli(['verify', '--dir', dir, '--expect-head', `main=${kept}`])).code,
      0,
      'grown: fine',
    );
    const file = path.join(dir, 'j', 'events-main-00000000000000000001.jsonl');
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    fs.writeFileSync(file, lines.slice(0, 8).join('\n') + '\n');
    const withIndex = await runCli(['verify', '--dir', dir]);
    assert.equal(withIndex.code, 4, 'the index still describes the lines that were cut');
    // Someone who can write the files can remove the index too: only a kept head tells then.
    fs.rmSync(file.replace(/\.jsonl$/, '.idx'));
    const plain = await runCli(['verify', '--dir', dir]);
    assert.equal(plain.code, 0, 'a cut at a line boundary is invisible without a kept head');
    const caught = await runCli(['verify', '--dir', dir, '--expect-head', `j/main=${kept}`]);
    assert.equal(caught.code, 4);
    assert.match(
      caught.stdout,
      /head-mismatch at events-main-00000000000000000001\.jsonl, seq 8: the kept head/,
    );
    const bad = await runCli(['verify', '--dir', dir, '--expect-head', 'main=xyz']);
    assert.equal(bad.code, 2);
  });

  it(`detects every one of ${TAMPERINGS} random tamperings and names where it was made`, async () => {
    const base = tempDir();
    await tamperableLog(base);
    const head = (await verifyLog(base)).streams[0]?.headHash as string;
    let state = 99;
    const random = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const missed: string[] = [];
    for (let n = 0; n < TAMPERINGS; n++) {
      const dir = tempDir();
      fs.cpSync(base, dir, { recursive: true });
      const kind = TAMPER_KINDS[n % TAMPER_KINDS.length] ?? 'edit';
      const t = tamper(path.join(dir, 'audit'), kind, random);
      const report = await verifyLog(dir, { expectHeads: { main: head } });
      const problems = report.streams.flatMap((s) => s.problems);
      const named = problems.some(
        (p) =>
          p.segment === t.segment &&
          (p.seq === undefined || Math.abs(p.seq - t.seq) <= 1 || kind === 'truncate-gzip'),
      );
      if (report.ok || !named) missed.push(`${kind} ${t.segment} seq ${t.seq}: ${JSON.stringify(problems)}`);
      fs.rmSync(dir, { recursive: true, force: true });
    }
    assert.deepEqual(missed, [], `${missed.length} of ${TAMPERINGS} tamperings missed or misplaced`);
  });
});

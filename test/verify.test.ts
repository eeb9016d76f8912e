import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { EventLog, verifyLog } from '../src/index.js';
import { progressEvent, ROOT, runCli, segmentFiles, tempDir } from './helpers.js';
import { REMOVALS, TAMPER_KINDS, tamper, tamperableLog } from './tamper.js';

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
      // Removals are named from the log alone; changes at its very end need the head kept elsewhere.
      const heads: Record<string, string> = REMOVALS.includes(kind) ? {} : { main: head };
      const report = await verifyLog(dir, { expectHeads: heads });
      const problems = report.streams.flatMap((s) => s.problems);
      const named =
        kind === 'drop-manifest'
          ? report.jobs.some((j) => j.job === 'audit' && j.kind === 'no-manifest')
          : problems.some(
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

/** A job `j` of several segments: the older ones sealed and compressed, the newest plain. */
async function rotatedJob(dir: string, jobId = 'j'): Promise<string> {
  const log = await EventLog.open({ dir, jobId, rotateBytes: 3000 });
  for (let i = 0; i < 40; i++) await log.append(progressEvent(i));
  await log.close();
  return path.join(dir, jobId);
}

async function headOf(dir: string, job: string): Promise<string> {
  const run = await runCli(['verify', '--dir', dir, '--job', job, '--json']);
  return (JSON.parse(run.stdout) as { streams: { headHash: string }[] }).streams[0]?.headHash as string;
}

describe('events verify names what is gone (issue 11)', () => {
  it('a whole stream deleted: verify, verify --job, --expect-head and --json all fail naming it', async () => {
    const dir = tempDir();
    const jobDir = await rotatedJob(dir);
    await rotatedJob(dir, 'other');
    const head = await headOf(dir, 'j');
    for (const file of segmentFiles(jobDir)) fs.rmSync(file);
    for (const args of [[], ['--job', 'j'], ['--expect-head', `j/main=${head}`]]) {
      const run = await runCli(['verify', '--dir', dir, ...args]);
      assert.equal(run.code, 4, `verify ${args.join(' ')}: ${run.stdout}${run.stderr}`);
      assert.match(run.stdout, /FAILED j\/main: 0 events in 0 segments/);
      assert.match(
        run.stdout,
        /missing-segment at events-main-\d{20}\.jsonl: every segment of the stream is gone/,
      );
    }
    const json = JSON.parse((await runCli(['verify', '--dir', dir, '--json'])).stdout) as {
      ok: boolean;
      streams: { job: string; problems: { kind: string }[] }[];
    };
    assert.equal(json.ok, false);
    assert.deepEqual(
      json.streams.map((s) => [s.job, s.problems.map((p) => p.kind)]),
      [
        ['j', ['missing-segment']],
        ['other', []],
      ],
    );
  });

  it('the newest segment deleted: named, and a writer refuses to go on over the gap', async () => {
    const dir = tempDir();
    const jobDir = await rotatedJob(dir);
    const files = segmentFiles(jobDir);
    assert.ok(files.length >= 3, 'several segments');
    const newest = files.at(-1) as string;
    fs.rmSync(newest);
    fs.rmSync(newest.replace(/\.jsonl$/, '.idx'), { force: true });
    const run = await runCli(['verify', '--dir', dir]);
    assert.equal(run.code, 4, run.stdout);
    assert.match(
      run.stdout,
      new RegExp(
        `missing-segment at ${path.basename(newest).replace(/\./g, '\\.')}: the stream's newest segment is gone`,
      ),
    );
    // Going on would give the lost seqs to new events: the writer says what is wrong instead.
    await assert.rejects(
      EventLog.open({ dir, jobId: 'j' }),
      (err: Error & { kind?: string }) =>
        err.kind === 'data' && /has lost its newest segment/.test(err.message),
    );
    assert.equal((await runCli(['verify', '--dir', dir])).code, 4, 'still named after the refused open');
  });

  it('LOG.json deleted: the job is damage, not absence, for verify and verify --job', async () => {
    const dir = tempDir();
    const jobDir = await rotatedJob(dir);
    await rotatedJob(dir, 'other');
    fs.rmSync(path.join(jobDir, 'LOG.json'));
    for (const args of [[], ['--job', 'j']]) {
      const run = await runCli(['verify', '--dir', dir, ...args]);
      assert.equal(run.code, 4, run.stdout + run.stderr);
      assert.match(
        run.stdout,
        /FAILED j: no-manifest: its LOG\.json is missing, but it holds \d+ of a log's files/,
      );
    }
    const json = JSON.parse((await runCli(['verify', '--dir', dir, '--json'])).stdout) as {
      ok: boolean;
      jobs: { job: string; kind: string }[];
    };
    assert.equal(json.ok, false);
    assert.deepEqual(
      json.jobs.map((j) => [j.job, j.kind]),
      [['j', 'no-manifest']],
    );
    // A directory with nothing of a log in it is not a job: not reported.
    fs.mkdirSync(path.join(dir, 'notes'));
    fs.writeFileSync(path.join(dir, 'notes', 'README'), 'hello\n');
    const again = await runCli(['verify', '--dir', dir, '--json']);
    assert.deepEqual(
      (JSON.parse(again.stdout) as { jobs: { job: string }[] }).jobs.map((j) => j.job),
      ['j'],
    );
  });

  it('a segment replaced by a directory (or another non-file) is named', async () => {
    for (const which of ['first', 'newest'] as const) {
      const dir = tempDir();
      const jobDir = await rotatedJob(dir);
      const files = segmentFiles(jobDir);
      const victim = (which === 'first' ? files[0] : files.at(-1)) as string;
      fs.rmSync(victim);
      fs.mkdirSync(victim);
      const run = await runCli(['verify', '--dir', dir]);
      assert.equal(run.code, 4, `${which}: ${run.stdout}`);
      assert.match(
        run.stdout,
        new RegExp(
          `unreadable at ${path.basename(victim).replace(/\./g, '\\.')}, seq \\d+: it is not a regular file`,
        ),
      );
    }
  });

  it('--expect-head naming a stream or job that is not there fails instead of being ignored', async () => {
    const dir = tempDir();
    await rotatedJob(dir);
    const head = await headOf(dir, 'j');
    for (const key of ['j/other', 'nojob/main', 'other']) {
      const run = await runCli(['verify', '--dir', dir, '--expect-head', `${key}=${head}`]);
      assert.equal(run.code, 4, `${key}: ${run.stdout}`);
      assert.match(run.stdout, new RegExp(`head-mismatch: no stream ${key} here`));
    }
    assert.equal((await runCli(['verify', '--dir', dir, '--expect-head', `j/main=${head}`])).code, 0);
  });

  it('LOG.json records every stream and its newest segment, through rotations and a second writer', async () => {
    const dir = tempDir();
    const jobDir = await rotatedJob(dir);
    const worker = await EventLog.open({
      dir,
      jobId: 'j',
      stream: 'worker-1',
      rotateBytes: 2000,
      durability: 'buffered',
    });
    for (let i = 0; i < 30; i++) await worker.append(progressEvent(i));
    await worker.close();
    const manifest = JSON.parse(fs.readFileSync(path.join(jobDir, 'LOG.json'), 'utf8')) as {
      streams: Record<string, { newest_segment: number }>;
    };
    for (const stream of ['main', 'worker-1']) {
      const bases = segmentFiles(jobDir)
        .filter((f) => path.basename(f).startsWith(`events-${stream}-`))
        .map((f) => Number(/-(\d{20})\.jsonl/.exec(f)?.[1]));
      assert.ok(bases.length > 1, `${stream} rotated`);
      assert.equal(manifest.streams[stream]?.newest_segment, Math.max(...bases), stream);
    }
    assert.equal((await runCli(['verify', '--dir', dir])).code, 0);
  });

  it('a log from before stream records is verified as before, and records its streams once a writer opens it', async () => {
    const dir = tempDir();
    const jobDir = await rotatedJob(dir);
    const file = path.join(jobDir, 'LOG.json');
    const manifest = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    delete manifest.streams;
    fs.writeFileSync(file, JSON.stringify(manifest));
    const newest = segmentFiles(jobDir).at(-1) as string;
    assert.equal((await runCli(['verify', '--dir', dir])).code, 0, 'an old log verifies');
    const log = await EventLog.open({ dir, jobId: 'j', stream: 'late' });
    await log.append(progressEvent(1));
    await log.close();
    const after = JSON.parse(fs.readFileSync(file, 'utf8')) as { streams: Record<string, unknown> };
    assert.deepEqual(Object.keys(after.streams).sort(), ['late', 'main'], 'every stream found is recorded');
    fs.rmSync(newest);
    assert.equal((await runCli(['verify', '--dir', dir])).code, 4, 'from then on a lost segment is named');
  });

  it('an archive records the segments that landed: it verifies, and names one removed from it', async () => {
    const dir = tempDir();
    const archive = tempDir();
    await rotatedJob(dir);
    await rotatedJob(dir, 'old');
    // Segments of j a few at a time, then the whole of old.
    const some = await runCli(['prune', '--dir', dir, '--archive', archive, '--max-events', '20']);
    assert.equal(some.code, 0, some.stderr);
    await new Promise((r) => setTimeout(r, 1100));
    const whole = await runCli([
      'prune',
      '--dir',
      dir,
      '--archive',
      archive,
      '--job',
      'old',
      '--older-than',
      '1s',
      '--include-running',
    ]);
    assert.equal(whole.code, 0, whole.stderr);
    assert.ok(!fs.existsSync(path.join(dir, 'old')), 'old was archived whole');
    const counts = new Map<string, number>();
    for (const d of [dir, archive]) {
      const run = await runCli(['verify', '--dir', d, '--json']);
      assert.equal(run.code, 0, `${d}: ${run.stdout}`);
      const report = JSON.parse(run.stdout) as {
        streams: { job: string; events: number; startSeq: number }[];
      };
      for (const s of report.streams) {
        counts.set(s.job, (counts.get(s.job) ?? 0) + s.events);
        if (d === archive) assert.equal(s.startSeq, 1, `${s.job} starts at 1 in the archive`);
      }
    }
    // Every event is in one place or the other, once: the archive holds the beginnings whole.
    assert.deepEqual([...counts].sort(), [
      ['j', 40],
      ['old', 40],
    ]);
    for (const job of ['j', 'old']) {
      const newest = segmentFiles(path.join(archive, job)).at(-1) as string;
      fs.rmSync(newest);
      const run = await runCli(['verify', '--dir', archive, '--job', job]);
      assert.equal(run.code, 4, `${job}: ${run.stdout}`);
      assert.match(run.stdout, /missing-segment/);
    }
  });
});

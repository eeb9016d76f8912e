import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { EventLog } from '../src/index.js';
import { progressEvent, ROOT, runCli, segmentFiles, tempDir } from './helpers.js';

const BASIC = path.join(ROOT, 'fixtures', 'basic');

async function smallLog(): Promise<{ dir: string; file: string }> {
  const dir = tempDir();
  const log = await EventLog.open({ dir, jobId: 'j', compress: false });
  for (let i = 0; i < 5; i++) await log.append(progressEvent(i));
  await log.close();
  return { dir, file: segmentFiles(path.join(dir, 'j'))[0] as string };
}

describe('hostile input to the reader and the CLI', () => {
  it('lines that are not records (a 50 MB line, not an object, deep nesting, wrong types) are skipped and counted', async () => {
    const { dir, file } = await smallLog();
    fs.rmSync(file.replace(/\.jsonl$/, '.idx'));
    const lines = fs.readFileSync(file, 'utf8').split('\n').slice(0, -1);
    const hostile = [
      'x'.repeat(50 * 1024 * 1024),
      '[1,2,3]',
      '"just a string"',
      '['.repeat(100_000) + ']'.repeat(100_000),
      lines[0]?.replace('"seq":1', '"seq":"1"') ?? '',
      Buffer.from([0xff, 0xfe, 0x7b, 0x22]).toString('latin1'),
    ];
    fs.writeFileSync(file, [lines[0], ...hostile, ...lines.slice(1)].join('\n') + '\n');
    const run = await runCli(['query', '--dir', dir, '--json']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout.trim().split('\n').length, 5);
    assert.equal(run.stderr, "warning: skipped 6 corrupt lines in j (run 'events verify --job j')\n");
    const verify = await runCli(['verify', '--dir', dir]);
    assert.equal(verify.code, 4);
    assert.match(
      verify.stdout,
      /corrupt-line at events-main-00000000000000000001\.jsonl, seq 2, byte \d+: .* \(6 in this stream\)/,
    );
  });

  it('a truncated gzip is read as far as it goes, with a warning; verify names it', async () => {
    const dir = tempDir();
    const log = await EventLog.open({ dir, jobId: 'z', rotateBytes: 3000 });
    for (let i = 0; i < 60; i++) await log.append(progressEvent(i));
    await log.close();
    const gz = segmentFiles(path.join(dir, 'z')).find((f) => f.endsWith('.gz')) as string;
    fs.rmSync(gz.replace(/\.jsonl\.gz$/, '.idx'));
    const bytes = fs.readFileSync(gz);
    fs.writeFileSync(gz, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const run = await runCli(['query', '--dir', dir, '--json']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, new RegExp(`could not read all of z/${path.basename(gz)}`));
    const verify = await runCli(['verify', '--dir', dir]);
    assert.equal(verify.code, 4);
    assert.match(verify.stdout, new RegExp(`unreadable at ${path.basename(gz).replace(/\./g, '\\.')}`));
  });

  it('an index that points past the end of its segment is not followed', async () => {
    const { dir, file } = await smallLog();
    const idx = file.replace(/\.jsonl$/, '.idx');
    fs.writeFileSync(
      idx,
      JSON.stringify({
        block: 0,
        seq: [1, 5],
        lines: [0, 5],
        off: [0, 1e9],
        ts: ['a', 'b'],
        types: [],
        agents: [],
      }) + '\n',
    );
    const run = await runCli(['query', '--dir', dir, '--json']);
    assert.equal(run.code, 0);
    assert.equal(run.stdout.trim().split('\n').length, 5);
    assert.match(run.stderr, /block 0 ends past the end of the segment/);
  });

  it('job ids that would leave the directory, and symbolic links, are refused', async () => {
    for (const job of ['..', '../etc', 'a/b', '.hidden']) {
      const run = await runCli(['query', '--dir', BASIC, '--job', job]);
      assert.equal(run.code, 2, job);
      assert.match(run.stderr, /job id/);
    }
    const { dir } = await smallLog();
    const outside = tempDir();
    fs.cpSync(path.join(dir, 'j'), path.join(outside, 'secret'), { recursive: true });
    fs.symlinkSync(path.join(outside, 'secret'), path.join(dir, 'linked'));
    const listed = await runCli(['jobs', '--dir', dir, '--json']);
    assert.deepEqual(
      (JSON.parse(listed.stdout) as { job: string }[]).map((j) => j.job),
      ['j'],
    );
    const direct = await runCli(['query', '--dir', dir, '--job', 'linked']);
    assert.equal(direct.code, 4);
    assert.match(direct.stderr, /is a symbolic link; refusing to read a job outside/);
    fs.symlinkSync(
      path.join(outside, 'secret', 'events-main-00000000000000000001.jsonl'),
      path.join(dir, 'j', 'events-other-00000000000000000001.jsonl'),
    );
    const query = await runCli(['query', '--dir', dir, '--json']);
    assert.equal(query.stdout.trim().split('\n').length, 5, 'a segment name on a symbolic link is not read');
  });
});

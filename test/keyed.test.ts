import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { DataError, EventLog, InvalidArgumentError } from '../src/index.js';
import { progressEvent, runCli, segmentFiles, tempDir } from './helpers.js';

const KEY = 'a key the writers hold';

async function keyedLog(): Promise<string> {
  const dir = tempDir();
  const log = await EventLog.open({ dir, jobId: 'k', hmacKey: KEY, rotateBytes: 4000, compress: false });
  for (let i = 0; i < 40; i++) await log.append(progressEvent(i));
  await log.close();
  return dir;
}

describe('keyed integrity (EVENTS_HMAC_KEY)', () => {
  it('verify checks a keyed chain with the key, and says so without it or with another', async () => {
    const dir = await keyedLog();
    const manifest = fs.readFileSync(path.join(dir, 'k', 'LOG.json'), 'utf8');
    assert.match(manifest, /"chain": "hmac-sha256"/);
    assert.ok(!manifest.includes(KEY), 'LOG.json does not hold the key');
    const ok = await runCli(['verify', '--dir', dir], { env: { EVENTS_HMAC_KEY: KEY } });
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    const none = await runCli(['verify', '--dir', dir], { env: { EVENTS_HMAC_KEY: '' } });
    assert.equal(none.code, 4);
    assert.match(none.stdout, /keyed-chain at .*the log of job k has a keyed chain: set EVENTS_HMAC_KEY/);
    const wrong = await runCli(['verify', '--dir', dir], { env: { EVENTS_HMAC_KEY: 'another key' } });
    assert.equal(wrong.code, 4);
    assert.match(wrong.stdout, /EVENTS_HMAC_KEY is not the key of job k's log/);
    const keyFile = path.join(tempDir(), 'key');
    fs.writeFileSync(keyFile, KEY + '\n');
    const fromFile = await runCli(['verify', '--dir', dir], { env: { EVENTS_HMAC_KEY_FILE: keyFile } });
    assert.equal(fromFile.code, 0, fromFile.stdout);
    const query = await runCli(['query', '--dir', dir, '--json'], { env: { EVENTS_HMAC_KEY: '' } });
    assert.equal(query.stdout.trim().split('\n').length, 40, 'reading needs no key');
  });

  it('a rewrite by someone without the key, with the chain recomputed as SHA-256, is caught where it was made', async () => {
    const dir = await keyedLog();
    const file = segmentFiles(path.join(dir, 'k'))[0] as string;
    fs.rmSync(file.replace(/\.jsonl$/, '.idx'));
    const lines = fs.readFileSync(file, 'utf8').split('\n').slice(0, -1);
    const target = 2;
    const seq = (JSON.parse(lines[target] as string) as { seq: number }).seq;
    lines[target] = (lines[target] as string).replace('"progress_pct":50', '"progress_pct":99');
    // The best an attacker can do without the key: rechain everything after the change.
    for (let i = target + 1; i < lines.length; i++) {
      const prev = crypto
        .createHash('sha256')
        .update(lines[i - 1] as string)
        .digest('hex')
        .slice(0, 32);
      lines[i] = (lines[i] as string).replace(/"prev":"[0-9a-f]{32}"/, `"prev":"${prev}"`);
    }
    fs.writeFileSync(file, lines.join('\n') + '\n');
    const run = await runCli(['verify', '--dir', dir], { env: { EVENTS_HMAC_KEY: KEY } });
    assert.equal(run.code, 4);
    // Every link after the change is broken (the rewritten prevs are SHA-256, not the keyed hash): the
    // first break is between the changed line and the next, which is where verify points.
    assert.match(
      run.stdout,
      new RegExp(`chain-break at ${path.basename(file)}, seq (${seq}|${seq + 1}), byte \\d+`),
    );
  });

  it('a keyed log is reopened only with its key, and an unkeyed one cannot become keyed', async () => {
    const dir = await keyedLog();
    const saved = process.env.EVENTS_HMAC_KEY;
    delete process.env.EVENTS_HMAC_KEY;
    try {
      await assert.rejects(EventLog.open({ dir, jobId: 'k' }), (err) => err instanceof DataError);
      const again = await EventLog.open({ dir, jobId: 'k', hmacKey: KEY });
      await again.append(progressEvent(99));
      await again.close();
      const plain = await EventLog.open({ dir, jobId: 'plain' });
      await plain.close();
      await assert.rejects(
        EventLog.open({ dir, jobId: 'plain', hmacKey: KEY }),
        (err) => err instanceof InvalidArgumentError,
      );
    } finally {
      if (saved !== undefined) process.env.EVENTS_HMAC_KEY = saved;
    }
    const run = await runCli(['verify', '--dir', dir, '--job', 'k'], { env: { EVENTS_HMAC_KEY: KEY } });
    assert.equal(run.code, 0, run.stdout);
    assert.match(run.stdout, /ok k\/main: 41 events/);
  });
});

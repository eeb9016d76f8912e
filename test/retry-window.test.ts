import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { EventLog, type Receipt } from '../src/index.js';
import { checkChain, logIdOf, progressEvent, rawLines, segmentFiles, tempDir } from './helpers.js';

/**
 * A producer-supplied id is remembered across a reopen when it is in the last 4 MiB of the stream
 * (docs/library.md), whatever segments, seals and compression those 4 MiB span.
 */

/** Every line of every segment of a job (a `.gz` decompressed), parsed. */
function allRecords(jobDir: string): { seq: number; id: string; event_type: string }[] {
  return segmentFiles(jobDir)
    .flatMap(rawLines)
    .map((line) => JSON.parse(line) as { seq: number; id: string; event_type: string });
}

function duplicateIds(jobDir: string): string[] {
  const counts = new Map<string, number>();
  for (const record of allRecords(jobDir)) counts.set(record.id, (counts.get(record.id) ?? 0) + 1);
  return [...counts].filter(([, n]) => n > 1).map(([id]) => id);
}

const completed = {
  event_type: 'job_completed',
  data: { duration_ms: 1200, success_count: 30, failure_count: 0 },
} as const;

/** A custom event of about 64 KiB, to cover megabytes of stream with few events. */
const blob = (id: string) => ({ event_type: 'blob', id, data: { payload: 'x'.repeat(64 * 1024) } });

describe('retries with a producer id across a reopen', () => {
  it('a job that completed, sealed and compressed: retries return the first receipts and write nothing', async () => {
    const dir = tempDir();
    const jobDir = path.join(dir, 'job-done');
    let log = await EventLog.open({ dir, jobId: 'job-done' });
    const first = new Map<string, Receipt>();
    for (let i = 0; i < 10; i++)
      first.set(`ev-${i}`, await log.append({ ...progressEvent(i), id: `ev-${i}` }));
    first.set('done-1', await log.append({ ...completed, id: 'done-1' }));
    await log.close();
    const gz = fs.readdirSync(jobDir).filter((f) => f.endsWith('.jsonl.gz'));
    assert.equal(gz.length, 1, 'close() after job_completed sealed and compressed the segment');
    assert.equal(allRecords(jobDir).length, 11);

    log = await EventLog.open({ dir, jobId: 'job-done' });
    assert.equal(log.lastSeq, 11);
    for (const [id, receipt] of first) {
      const retried = await log.append(
        id === 'done-1' ? { ...completed, id } : { ...progressEvent(Number(id.slice(3))), id },
      );
      assert.deepEqual(retried, receipt, `a retry of ${id} returns its first receipt`);
    }
    await log.close();
    assert.equal(allRecords(jobDir).length, 11, 'nothing was written again');
    assert.deepEqual(duplicateIds(jobDir), []);
    assert.equal(allRecords(jobDir).filter((r) => r.event_type === 'job_completed').length, 1);
  });

  it('30 ids spread over several rotations (rotateBytes 2000): no retry is written twice', async () => {
    const dir = tempDir();
    const jobDir = path.join(dir, 'job-rot');
    let log = await EventLog.open({ dir, jobId: 'job-rot', rotateBytes: 2000, indexBlockBytes: 512 });
    const first = new Map<string, Receipt>();
    for (let i = 0; i < 30; i++)
      first.set(`item-${i}`, await log.append({ ...progressEvent(i), id: `item-${i}` }));
    first.set('done-1', await log.append({ ...completed, id: 'done-1' }));
    await log.close();
    const compressed = fs.readdirSync(jobDir).filter((f) => f.endsWith('.jsonl.gz'));
    assert.ok(compressed.length >= 3, `the ids span ${compressed.length} compressed segments`);

    log = await EventLog.open({ dir, jobId: 'job-rot', rotateBytes: 2000, indexBlockBytes: 512 });
    for (let i = 0; i < 30; i++) {
      const retried = await log.append({ ...progressEvent(i), id: `item-${i}` });
      assert.deepEqual(retried, first.get(`item-${i}`), `a retry of item-${i} returns its first receipt`);
    }
    assert.deepEqual(await log.append({ ...completed, id: 'done-1' }), first.get('done-1'));
    const next = await log.append(progressEvent(99));
    assert.equal(next.seq, 32, 'the stream goes on after the last record');
    await log.close();
    assert.deepEqual(duplicateIds(jobDir), []);
    assert.equal(allRecords(jobDir).length, 32);
    assert.equal(checkChain(segmentFiles(jobDir), logIdOf(jobDir), 'main').length, 32);
  });

  it('a small active segment after a rotation: the window reaches into the segments before it', async () => {
    const dir = tempDir();
    const jobDir = path.join(dir, 'job-small');
    const options = { dir, jobId: 'job-small', rotateBytes: 2000, indexBlockBytes: 512 };
    let log = await EventLog.open(options);
    const first = new Map<string, Receipt>();
    for (let i = 0; i < 20; i++)
      first.set(`step-${i}`, await log.append({ ...progressEvent(i), id: `step-${i}` }));
    await log.close();
    log = await EventLog.open(options);
    for (const [id, receipt] of first) {
      assert.deepEqual(await log.append({ ...progressEvent(Number(id.slice(5))), id }), receipt, id);
    }
    await log.close();
    assert.deepEqual(duplicateIds(jobDir), []);
    assert.equal(allRecords(jobDir).length, 20);
  });

  for (const indexes of ['with', 'without'] as const) {
    it(`the window is the last 4 MiB of the stream, across compressed segments ${indexes} their index`, async () => {
      const dir = tempDir();
      const jobDir = path.join(dir, 'job-far');
      const options = { dir, jobId: 'job-far', durability: 'write', rotateBytes: 1024 * 1024 } as const;
      let log = await EventLog.open(options);
      const first = new Map<string, Receipt>();
      // 73 events of 64 KiB: 4.7 MiB, over several compressed segments and a plain active one.
      for (let i = 0; i < 73; i++) first.set(`big-${i}`, await log.append(blob(`big-${i}`)));
      await log.close();
      assert.ok(fs.readdirSync(jobDir).filter((f) => f.endsWith('.jsonl.gz')).length >= 3);
      if (indexes === 'without') {
        // A compressed segment without its index is decompressed whole.
        for (const f of fs.readdirSync(jobDir).filter((f) => f.endsWith('.jsonl.gz'))) {
          fs.rmSync(path.join(jobDir, f.replace(/\.jsonl\.gz$/, '.idx')));
        }
      }
      // The first line that starts in the last 4 MiB of the stream is remembered; the one before is not.
      const lengths = segmentFiles(jobDir)
        .flatMap(rawLines)
        .map((line) => Buffer.byteLength(line) + 1);
      const total = lengths.reduce((a, b) => a + b, 0);
      let offset = 0;
      let inside = 0;
      while (offset < total - 4 * 1024 * 1024) offset += lengths[inside++] as number;
      assert.ok(inside > 1 && inside < 60, `the window starts at event ${inside}`);

      log = await EventLog.open(options);
      for (const i of [inside, inside + 20, 72]) {
        assert.deepEqual(await log.append(blob(`big-${i}`)), first.get(`big-${i}`), `big-${i} is remembered`);
      }
      const outside = await log.append(blob(`big-${inside - 1}`));
      assert.equal(outside.seq, 74, `big-${inside - 1}, older than the window, is written again`);
      const oldest = await log.append(blob('big-0'));
      assert.equal(oldest.seq, 75, 'big-0 is written again');
      await log.close();
      assert.deepEqual(duplicateIds(jobDir).sort(), ['big-0', `big-${inside - 1}`].sort());
    });
  }

  it('a reopen after the oldest segments were pruned opens and remembers what is left', async () => {
    const dir = tempDir();
    const jobDir = path.join(dir, 'job-pruned');
    const options = { dir, jobId: 'job-pruned', rotateBytes: 2000, indexBlockBytes: 512 };
    let log = await EventLog.open(options);
    const first = new Map<string, Receipt>();
    for (let i = 0; i < 40; i++) first.set(`p-${i}`, await log.append({ ...progressEvent(i), id: `p-${i}` }));
    await log.close();

    // Prune as events prune does: LOG.json start first, then the removal of the oldest sealed segments.
    const sealed = fs
      .readdirSync(jobDir)
      .filter((f) => f.endsWith('.jsonl.gz'))
      .sort();
    assert.ok(sealed.length >= 3);
    const removed = sealed.slice(0, 2);
    const lastRemoved = removed.at(-1) as string;
    const idxLines = fs
      .readFileSync(path.join(jobDir, lastRemoved.replace(/\.jsonl\.gz$/, '.idx')), 'utf8')
      .trim()
      .split('\n');
    const seal = JSON.parse(idxLines.at(-1) as string) as { seq: [number, number]; last_hash: string };
    const manifestFile = path.join(jobDir, 'LOG.json');
    const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as { start: Record<string, unknown> };
    manifest.start.main = { seq: seal.seq[1] + 1, prev: seal.last_hash };
    fs.writeFileSync(manifestFile, JSON.stringify(manifest));
    for (const file of removed) {
      fs.rmSync(path.join(jobDir, file));
      fs.rmSync(path.join(jobDir, file.replace(/\.jsonl\.gz$/, '.idx')));
    }

    log = await EventLog.open(options);
    assert.equal(log.lastSeq, 40);
    for (let i = seal.seq[1]; i < 40; i++) {
      const retried = await log.append({ ...progressEvent(i), id: `p-${i}` });
      assert.deepEqual(retried, first.get(`p-${i}`), `p-${i} (kept) is remembered`);
    }
    const next = await log.append(progressEvent(40));
    assert.equal(next.seq, 41);
    await log.close();
    const kept = allRecords(jobDir);
    assert.deepEqual(
      kept.map((r) => r.seq),
      Array.from({ length: 41 - seal.seq[1] }, (_, i) => seal.seq[1] + 1 + i),
    );
  });
});

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { EventLog, readEvents, verifyLog, WriteError } from '../../src/index.js';
import { progressEvent, tinyFilesystem } from '../helpers.js';

describe('fault: a full disk', () => {
  it('appends reject with ENOSPC, the program goes on, nothing acknowledged is lost, and appends resume', async () => {
    const fsys = tinyFilesystem('1m');
    try {
      const filler = path.join(fsys.dir, 'filler');
      fs.writeFileSync(filler, Buffer.alloc(256 * 1024));
      const log = await EventLog.open({ dir: fsys.dir, jobId: 'full', compress: false });
      const acked: number[] = [];
      let error: unknown;
      for (let i = 0; i < 100_000 && error === undefined; i++) {
        try {
          acked.push((await log.append(progressEvent(i))).seq);
        } catch (err) {
          error = err;
        }
      }
      assert.ok(error instanceof WriteError, `a typed WriteError, not ${String(error)}`);
      assert.equal(error.code, 'ENOSPC');
      await assert.rejects(
        log.append(progressEvent(-1)),
        (err) => err instanceof WriteError && err.code === 'ENOSPC',
      );
      fs.rmSync(filler);
      const resumed = await log.append(progressEvent(-2));
      assert.equal(resumed.seq, (acked.at(-1) ?? 0) + 1, 'appending resumes where it stopped');
      await log.close();
      const seqs: number[] = [];
      for await (const { record } of readEvents({ dir: fsys.dir })) seqs.push(record.seq);
      assert.deepEqual(seqs, [...acked, resumed.seq], 'every acknowledged event, once, in order');
      assert.ok((await verifyLog(fsys.dir)).ok);
      process.stderr.write(
        `# full disk: ${acked.length} events acknowledged before ENOSPC, all kept, appends resumed\n`,
      );
    } finally {
      fsys.unmount();
    }
  });
});

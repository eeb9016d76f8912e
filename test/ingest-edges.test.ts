import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { EventLog, ingest, InvalidArgumentError, type EventsError, type EventSink } from '../src/index.js';
import { BIN, LiveCli, queryRecords, rawLines, runCli, segmentFiles, tempDir } from './helpers.js';

const bigLine = (i: number) =>
  JSON.stringify({ event_type: 'blob_seen', id: `big-${i}`, data: { i, pad: 'x'.repeat(20_000) } });

describe('ingest and emit at their edges', () => {
  it('a reader of acknowledgements that stalls stops the reading: at most about 1 MiB is written ahead', async () => {
    const dir = tempDir();
    const log = await EventLog.open({ dir, jobId: 'j1' });
    const input = Array.from({ length: 500 }, (_, i) => bigLine(i)).join('\n') + '\n';
    let release: (() => void) | undefined;
    const stalled = new Promise<void>((resolve) => (release = resolve));
    const source = (async function* () {
      for (let at = 0; at < input.length; at += 65_536) yield input.slice(at, at + 65_536);
    })();
    const running = ingest(log, source, () => stalled);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const ahead = log.lastSeq;
    assert.ok(ahead > 0 && ahead * 20_000 < 1.2 * 1024 * 1024, `${ahead} lines of 20 KB written ahead`);
    release?.();
    const result = await running;
    await log.close();
    assert.equal(result.written, 500);
  });

  it('a line exactly at the limit is taken with LF and with CRLF; one byte more is refused', async () => {
    const dir = tempDir();
    const log = await EventLog.open({ dir, jobId: 'j1' });
    const exact = (n: number) => {
      const head = '{"event_type":"pad","data":{"s":"';
      const tail = '"}}';
      return head + 'y'.repeat(n - head.length - tail.length) + tail;
    };
    let acks = '';
    const result = await ingest(
      log,
      [`${exact(200)}\n${exact(200)}\r\n${exact(201)}\r\n${exact(201)}\n${exact(200)}\r`],
      (text) => {
        acks += text;
      },
      { maxLineBytes: 200 },
    );
    await log.close();
    assert.deepEqual(
      acks
        .trim()
        .split('\n')
        .map((l) => ('seq' in JSON.parse(l) ? 'ok' : 'refused')),
      ['ok', 'ok', 'refused', 'refused', 'ok'],
    );
    assert.equal(result.written, 3);
  });

  it('a killed ingest restarted while another writer holds main takes its stream back: a resend writes nothing twice', async () => {
    const dir = tempDir();
    const holder = await EventLog.open({ dir, jobId: 'j1' });
    try {
      const lines = Array.from({ length: 3000 }, (_, i) => JSON.stringify({ event_type: 'n', id: `n-${i}` }));
      const first = new LiveCli(['ingest', '--dir', dir, '--job', 'j1'], { stdin: true });
      await first.write(lines.slice(0, 2000).join('\n') + '\n');
      const [ack] = await first.waitForLines(1000);
      first.kill('SIGKILL');
      await first.exited;
      const stream = (JSON.parse(ack as string) as { stream: string }).stream;
      assert.notEqual(stream, 'main');
      const again = await runCli(['ingest', '--dir', dir, '--job', 'j1'], { input: lines.join('\n') + '\n' });
      assert.equal(again.code, 0, again.stderr);
      const acks = again.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { stream: string });
      assert.ok(
        acks.every((a) => a.stream === stream),
        'the same stream again',
      );
    } finally {
      await holder.close();
    }
    const records = await queryRecords(dir, 'j1');
    assert.equal(records.length, 3000);
    assert.equal(new Set(records.map((r) => r.id)).size, 3000);
  });

  it('stdout that fails (a full disk) is one line and exit 5, not a crash', () => {
    const dir = tempDir();
    const full = fs.openSync('/dev/full', 'w');
    try {
      for (const args of [
        ['emit', '--dir', dir, '--job', 'j1', 'note', '--json'],
        ['ingest', '--dir', dir, '--job', 'j2'],
      ]) {
        const run = spawnSync(process.execPath, [BIN, ...args], {
          input: Array.from({ length: 3000 }, () => '{"event_type":"note"}').join('\n') + '\n',
          stdio: ['pipe', full, 'pipe'],
          encoding: 'utf8',
        });
        assert.equal(run.status, 5, run.stderr);
        assert.match(run.stderr, /^events: .*ENOSPC.*\n$/);
      }
    } finally {
      fs.closeSync(full);
    }
  });

  it('emit: a field named __proto__ is a field; a newline given is shown escaped on one line', async () => {
    const dir = tempDir();
    const ok = await runCli([
      'emit',
      '--dir',
      dir,
      '--job',
      'j1',
      'note',
      '__proto__=5',
      'x:={"__proto__":{"a":1}}',
    ]);
    assert.equal(ok.code, 0, ok.stderr);
    const [record] = await queryRecords(dir, 'j1');
    assert.equal(JSON.stringify(record?.data), '{"__proto__":5,"x":{"__proto__":{"a":1}}}');
    for (const args of [
      ['bad\ntype'],
      ['note', 'k\ney=1', 'k\ney=2'],
      ['note', '--data', '{"a":1,\n"b":}'],
    ]) {
      const bad = await runCli(['emit', '--dir', dir, '--job', 'j1', ...args]);
      assert.equal(bad.code, 2, bad.stderr);
      assert.equal(bad.stderr.split('\n').length, 2, JSON.stringify(bad.stderr));
      assert.match(bad.stderr, /\\n/);
    }
  });
});

describe('the library at its edges', () => {
  it('an onError that throws stops neither appends nor the other sinks', async () => {
    const dir = tempDir();
    const got: number[] = [];
    const sinks: EventSink[] = [
      {
        write() {
          throw new Error('sink down');
        },
      },
      { name: 'ok', write: (record) => void got.push(record.seq) },
    ];
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      const log = await EventLog.open({
        dir,
        jobId: 'j1',
        sinks,
        onError: (e: EventsError) => {
          throw new Error(`hook broke on ${e.message}`);
        },
      });
      const receipts = await Promise.all([1, 2, 3].map((i) => log.append({ event_type: 'n', data: { i } })));
      await log.close();
      assert.deepEqual(
        receipts.map((r) => r.seq),
        [1, 2, 3],
      );
      assert.deepEqual(got, [1, 2, 3]);
      await new Promise((resolve) => setImmediate(resolve));
      assert.match(warnings.join(), /onError threw/);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('a sink returning a thenable is awaited and its failures counted', async () => {
    const dir = tempDir();
    const thenable: EventSink = {
      name: 'thenable',
      write: () =>
        ({
          then: (_: unknown, reject: (e: Error) => void) => reject(new Error('no')),
        }) as unknown as Promise<void>,
    };
    const log = await EventLog.open({ dir, jobId: 'j1', sinks: [thenable], onError: () => {} });
    await log.append({ event_type: 'n' });
    await log.close();
    assert.deepEqual(log.sinkStats()[0], {
      name: 'thenable',
      delivered: 0,
      dropped: 0,
      failed: 1,
      queued: 0,
    });
  });

  it('what is written is the event as appended, whatever the caller does with its objects afterwards', async () => {
    const dir = tempDir();
    const log = await EventLog.open({ dir, jobId: 'j1' });
    const data = { v: 1, list: [1] };
    const meta = { m: 1 };
    const pending = log.append({ event_type: 'custom_thing', data, meta });
    data.v = 2;
    data.list.push(2);
    meta.m = 2;
    await pending;
    await assert.rejects(log.appendMany('x' as never), InvalidArgumentError);
    await log.close();
    const [line] = rawLines(segmentFiles(path.join(dir, 'j1'))[0] as string);
    const record = JSON.parse(line as string) as { data: unknown; meta: unknown };
    assert.deepEqual([record.data, record.meta], [{ v: 1, list: [1] }, { m: 1 }]);
  });
});

describe('a dead writer’s stream', () => {
  /** Leaves stream `<host>-999999` as a writer killed holding it would: its lock names a dead pid. */
  async function orphan(dir: string): Promise<string> {
    const stream = `${os.hostname().replace(/[^A-Za-z0-9._-]/g, '-')}-999999`;
    const log = await EventLog.open({ dir, jobId: 'j1', stream });
    await log.append({ event_type: 'n', id: 'from-the-dead' });
    await log.close();
    const owner = { pid: 2 ** 22 + 12_345, host: os.hostname(), started: new Date().toISOString() };
    fs.writeFileSync(path.join(dir, 'j1', `${stream}.lock`), JSON.stringify(owner) + '\n');
    return stream;
  }

  it('is taken back by the next writer of its host when main is busy; a damaged one is passed over', async () => {
    const dir = tempDir();
    const stream = await orphan(dir);
    const holder = await EventLog.open({ dir, jobId: 'j1' });
    try {
      const next = await EventLog.open({ dir, jobId: 'j1' });
      assert.equal(next.stream, stream);
      // The id it wrote before it died is known: a resend writes nothing.
      const again = await next.append({ event_type: 'n', id: 'from-the-dead' });
      assert.equal(again.seq, 1);
      await next.close();
      // Damaged: its only segment is gone. The next writer takes a stream of its own instead of failing.
      await orphan(dir);
      for (const f of fs.readdirSync(path.join(dir, 'j1'))) {
        if (f.startsWith(`${stream}.`) || f.startsWith(`events-${stream}-`)) {
          if (!f.endsWith('.lock')) fs.rmSync(path.join(dir, 'j1', f));
        }
      }
      const fresh = await EventLog.open({ dir, jobId: 'j1' });
      assert.equal(fresh.stream, `${stream.replace(/-999999$/, '')}-${process.pid}`);
      await fresh.close();
    } finally {
      await holder.close();
    }
  });
});

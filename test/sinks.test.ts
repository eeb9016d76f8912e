import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import {
  EventLog,
  EventValidationError,
  LockedError,
  SinkError,
  type EventRecord,
  type EventsError,
  type EventSink,
} from '../src/index.js';
import { progressEvent, rawLines, segmentFiles, tempDir } from './helpers.js';

const errorsOf = () => {
  const seen: EventsError[] = [];
  return { seen, onError: (e: EventsError) => seen.push(e) };
};

describe('output sinks: a copy of each record once the file has it, never in the log’s way', () => {
  it('a sink receives every record in order, each already in the file when it arrives', async () => {
    const dir = tempDir();
    const got: EventRecord[] = [];
    let notYetInFile = 0;
    const sink: EventSink = {
      name: 'checker',
      write(record, line) {
        const [file] = segmentFiles(path.join(dir, 'j1'));
        if (file === undefined || !fs.readFileSync(file, 'utf8').includes(line)) notYetInFile++;
        got.push(record);
        return new Promise((resolve) => setTimeout(resolve, 1)); // slow, but keeps up in the end
      },
    };
    const log = await EventLog.open({ dir, jobId: 'j1', sinks: [sink] });
    await Promise.all(Array.from({ length: 200 }, (_, i) => log.append(progressEvent(i))));
    await log.close();
    assert.deepEqual(
      got.map((r) => r.seq),
      Array.from({ length: 200 }, (_, i) => i + 1),
    );
    assert.equal(notYetInFile, 0);
    assert.deepEqual(log.sinkStats(), [
      { name: 'checker', delivered: 200, dropped: 0, failed: 0, queued: 0 },
    ]);
  });

  it('a sink that throws fails neither an append nor the file; the failure is reported once and counted', async () => {
    const dir = tempDir();
    const { seen, onError } = errorsOf();
    const throwing: EventSink = {
      name: 'broken',
      write() {
        throw new Error('connection refused');
      },
    };
    const rejecting: EventSink = { write: () => Promise.reject(new Error('503')) };
    const log = await EventLog.open({ dir, jobId: 'j1', sinks: [throwing, rejecting], onError });
    for (let i = 0; i < 50; i++) await log.append(progressEvent(i));
    await log.close();
    assert.equal(rawLines(segmentFiles(path.join(dir, 'j1'))[0] as string).length, 50);
    assert.deepEqual(
      log.sinkStats().map((s) => [s.name, s.delivered, s.failed]),
      [
        ['broken', 0, 50],
        ['#2', 0, 50],
      ],
    );
    assert.equal(seen.length, 2, seen.map((e) => e.message).join('; '));
    assert.ok(seen.every((e) => e instanceof SinkError));
    assert.match(
      seen[0]?.message ?? '',
      /sink broken failed: connection refused \(the file log is complete\)/,
    );
  });

  it('a sink that hangs: its queue fills, records are dropped and counted, close() gives up after sinkCloseMs', async () => {
    const dir = tempDir();
    const { seen, onError } = errorsOf();
    let closed = false;
    const hanging: EventSink = {
      name: 'hung',
      write: () => new Promise<void>(() => {}),
      close() {
        closed = true;
      },
    };
    const log = await EventLog.open({
      dir,
      jobId: 'j1',
      sinks: [hanging],
      sinkQueue: 10,
      sinkCloseMs: 300,
      onError,
    });
    const receipts = await Promise.all(Array.from({ length: 100 }, (_, i) => log.append(progressEvent(i))));
    assert.equal(receipts.at(-1)?.seq, 100, 'every append resolved');
    const started = Date.now();
    await log.close();
    const waited = Date.now() - started;
    assert.ok(waited >= 250 && waited < 5000, `close waited ${waited} ms`);
    assert.ok(closed, 'the sink was closed');
    const [stats] = log.sinkStats();
    // One in the sink's hands, ten queued, the rest dropped at once; at close the eleven are given up.
    assert.deepEqual(stats, { name: 'hung', delivered: 0, dropped: 100, failed: 0, queued: 0 });
    assert.equal(rawLines(segmentFiles(path.join(dir, 'j1'))[0] as string).length, 100);
    assert.deepEqual(
      seen.map((e) => e.message.replace(/\d+ records/, 'N records')),
      [
        'sink hung is not keeping up: dropping records (the file log is complete)',
        'sink hung did not drain in time: N records not delivered',
      ],
    );
    // The stream was let go before the sink was given up on.
    const next = await EventLog.open({ dir, jobId: 'j1', stream: 'main' });
    await next.close();
  });

  it('the echo is a sink like any other, named echo', async () => {
    const dir = tempDir();
    const chunks: string[] = [];
    const { Writable } = await import('node:stream');
    const stream = new Writable({
      write(chunk: Buffer, _enc, done) {
        chunks.push(chunk.toString());
        done();
      },
    });
    const log = await EventLog.open({ dir, jobId: 'j1', echo: { format: 'jsonl', stream } });
    await log.append(progressEvent(1));
    await log.close();
    assert.equal(chunks.join(''), rawLines(segmentFiles(path.join(dir, 'j1'))[0] as string)[0] + '\n');
    assert.equal(log.sinkStats()[0]?.name, 'echo');
  });

  it('refuses a sink without write() and bad bounds before touching the disk', async () => {
    const dir = tempDir();
    await assert.rejects(
      EventLog.open({ dir, jobId: 'j1', sinks: [{} as EventSink] }),
      /write\(record, line\)/,
    );
    await assert.rejects(
      EventLog.open({ dir, jobId: 'j1', sinkQueue: 0 }),
      /sinkQueue must be a positive number/,
    );
    assert.deepEqual(fs.readdirSync(dir), []);
  });
});

describe('appendMany and waiting for a stream', () => {
  it('one outcome per event, in order; an invalid one does not stop the others; ids dedupe within a call', async () => {
    const dir = tempDir();
    const log = await EventLog.open({ dir, jobId: 'j1' });
    const outcomes = await log.appendMany([
      progressEvent(1),
      { event_type: 'agent_progress', data: {} } as never,
      { ...progressEvent(2), id: 'same' },
      { ...progressEvent(3), id: 'same' },
      progressEvent(4),
    ]);
    await log.close();
    assert.equal(outcomes.length, 5);
    assert.ok(outcomes[1] instanceof EventValidationError);
    const seqs = outcomes.map((o) => (o instanceof Error ? 'refused' : o.seq));
    assert.deepEqual(seqs, [1, 'refused', 2, 2, 3]);
    assert.equal(rawLines(segmentFiles(path.join(dir, 'j1'))[0] as string).length, 3);
    await assert.rejects(log.appendMany([progressEvent(5)]), /closed/);
  });

  it('streamWaitMs waits for a stream its writer lets go, and gives up with LockedError when it does not', async () => {
    const dir = tempDir();
    const holder = await EventLog.open({ dir, jobId: 'j1', stream: 'main' });
    await assert.rejects(EventLog.open({ dir, jobId: 'j1', stream: 'main', streamWaitMs: 200 }), LockedError);
    setTimeout(() => void holder.close(), 200);
    const waiter = await EventLog.open({ dir, jobId: 'j1', stream: 'main', streamWaitMs: 5000 });
    assert.equal(waiter.stream, 'main');
    await waiter.close();
  });
});

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { EventLog } from '../src/index.js';
import { assertVerifies, queryRecords, ROOT, runCli, tempDir } from './helpers.js';

/** The job's records, as `events query -o jsonl` prints them. */

/** `events emit --dir DIR --job j1 ARGS...` */
const emit = (dir: string, args: string[]) => runCli(['emit', '--dir', dir, '--job', 'j1', ...args]);

describe('events emit: one event from a shell script', () => {
  it('types name=value fields as documented, and exits 0 with the receipt once the event is in the log', async () => {
    const dir = tempDir();
    const result = await emit(dir, [
      'deploy_note',
      'n=3',
      'neg=-2.5',
      'big=1.5e3',
      'ok=true',
      'no=false',
      'nothing=null',
      's=abc',
      'zero_padded=007',
      'literal==007',
      'literal_true==true',
      'hex=0x10',
      'raw:={"a":[1,2]}',
      'quoted:="x y"',
      'empty=',
      'with_eq=a=b',
      '--json',
    ]);
    assert.equal(result.code, 0, result.stderr);
    const receipt = JSON.parse(result.stdout) as { job: string; seq: number; id: string; stream: string };
    assert.deepEqual([receipt.job, receipt.seq, receipt.stream], ['j1', 1, 'main']);
    const [record] = await queryRecords(dir, 'j1');
    assert.equal(record?.id, receipt.id);
    assert.deepEqual(record?.data, {
      n: 3,
      neg: -2.5,
      big: 1500,
      ok: true,
      no: false,
      nothing: null,
      s: 'abc',
      zero_padded: '007',
      literal: '007',
      literal_true: 'true',
      hex: '0x10',
      raw: { a: [1, 2] },
      quoted: 'x y',
      empty: '',
      with_eq: 'a=b',
    });
  });

  it('takes the envelope from flags and --data as the base of the fields', async () => {
    const dir = tempDir();
    const result = await emit(dir, [
      'agent_started',
      '--agent',
      'agent-3',
      '--correlation',
      'j1/item-7',
      '--severity',
      'warn',
      '--data',
      '{"item_id":"item-7","worktree":"wt-7"}',
      'attempt=2',
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, '', 'silent without --json');
    const [record] = await queryRecords(dir, 'j1');
    assert.equal(record?.agent_id, 'agent-3');
    assert.equal(record?.correlation_id, 'j1/item-7');
    assert.equal(record?.severity, 'warn');
    assert.deepEqual(record?.data, { item_id: 'item-7', worktree: 'wt-7', attempt: 2 });
  });

  it('refuses an invalid event with exit 2 and one line naming the field, writing nothing', async () => {
    const dir = tempDir();
    const cases: [string[], RegExp][] = [
      [['agent_started', '--agent', 'a1', 'item_id=i', 'worktree=w', 'attempt=one'], /data\.attempt/],
      [['agent_started', 'item_id=i', 'worktree=w', 'attempt=1'], /agent_id/],
      [['Not-A-Type'], /event_type/],
      [['note', 'x:={broken'], /field x: := takes JSON/],
      [['note', 'x=1', 'x=2'], /field x is given twice/],
      [['note', '--data', '{"x":1}', 'x=2'], /field x is given twice/],
      [['note', '--data', '[1,2]', 'x=2'], /--data must be a JSON object/],
      [['note', 'no_equals_sign'], /"no_equals_sign" is not a field/],
      [['note', '=value'], /no field name/],
      [['note', '--id', 'x'.repeat(200)], /id: at most 128/],
    ];
    for (const [args, message] of cases) {
      const result = await emit(dir, [...args]);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, message, args.join(' '));
      assert.equal(result.stderr.trim().split('\n').length, 1, `${args.join(' ')}: one line`);
    }
    assert.deepEqual(fs.readdirSync(dir), [], 'nothing created for a refused event');
  });

  it('an error quoting what was given shows its control characters escaped, never raw', async () => {
    const dir = tempDir();
    for (const args of [
      ['emit', '--dir', dir, '--job', 'j1', 'note', 'a\u001b[31m:={'],
      ['emit', '--dir', dir, '--job', 'j1', 'bad\u001b]0;title\u0007type'],
      ['query', '--dir', path.join(ROOT, 'fixtures', 'basic'), '--since', '\u001b[2J\u009b'],
    ]) {
      const result = await runCli(args);
      assert.equal(result.code, 2, result.stderr);
      assert.doesNotMatch(
        result.stderr,
        // eslint-disable-next-line no-control-regex
        /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/,
        JSON.stringify(result.stderr),
      );
      assert.match(result.stderr, /\\u001b/);
    }
  });

  it('--id makes a retry safe: the same id is written once and gets the same receipt', async () => {
    const dir = tempDir();
    const retry = () => emit(dir, ['note', 'n=1', '--id', 'retry-1', '--json']);
    const first = await retry();
    const second = await retry();
    assert.equal(first.code, 0, first.stderr);
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(JSON.parse(second.stdout), JSON.parse(first.stdout));
    assert.equal((await queryRecords(dir, 'j1')).length, 1);
  });

  it('writes to the stream "emit" while a running writer holds main; an explicit held stream exits 6 after --wait', async () => {
    const dir = tempDir();
    const runner = await EventLog.open({ dir, jobId: 'j1' });
    try {
      assert.equal(runner.stream, 'main');
      const first = await emit(dir, ['note', 'n=1', '--json']);
      const second = await emit(dir, ['note', 'n=2', '--json']);
      assert.equal(first.code, 0, first.stderr);
      assert.deepEqual(
        [first, second]
          .map((r) => JSON.parse(r.stdout) as { stream: string; seq: number })
          .map((r) => [r.stream, r.seq]),
        [
          ['emit', 1],
          ['emit', 2],
        ],
        'one stream for every emit, not one per process',
      );
      const started = Date.now();
      const held = await emit(dir, ['--stream', 'main', '--wait', '0.5', 'note']);
      assert.equal(held.code, 6, held.stderr);
      assert.match(held.stderr, /stream main of job j1 is locked by pid \d+/);
      assert.ok(Date.now() - started >= 500, 'waited for the stream');
    } finally {
      await runner.close();
    }
    const free = await emit(dir, ['--stream', 'main', 'note', '--json']);
    assert.equal(free.code, 0, free.stderr);
    assert.equal((JSON.parse(free.stdout) as { stream: string }).stream, 'main');
  });

  it('emits run in parallel from one script land every event once, in a whole chain', async () => {
    const dir = tempDir();
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => emit(dir, ['note', `i=${i}`, '--json'])),
    );
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    const all = await queryRecords(dir, 'j1');
    assert.deepEqual(all.map((r) => (r.data as { i: number }).i).sort(), [0, 1, 2, 3, 4, 5, 6, 7]);
    assert.ok(new Set(all.map((r) => r.stream)).size <= 2, 'main and emit at most');
    await assertVerifies(dir);
    assert.ok(fs.existsSync(path.join(dir, 'j1', 'LOG.json')));
  });
});

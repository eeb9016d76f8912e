import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import type { EventRecord } from '../src/index.js';
import { assertVerifies, BIN, LiveCli, queryRecords, runCli, tempDir } from './helpers.js';

interface Ack {
  line: number;
  seq?: number;
  id?: string;
  stream?: string;
  error?: string;
  skipped?: string;
}

const acksOf = (stdout: string): Ack[] =>
  stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Ack);

const line = (i: number) =>
  JSON.stringify({
    event_type: 'agent_progress',
    agent_id: `agent-${i % 4}`,
    id: `in-${i}`,
    data: { item_id: `item-${i}`, step: 'build', progress_pct: 50 },
  });

/** Every acknowledged line is in the log exactly once, with the acknowledged seq and id. */
function assertAckedOnce(acks: Ack[], log: EventRecord[]): void {
  const byId = new Map<string, EventRecord[]>();
  for (const r of log) byId.set(r.id, [...(byId.get(r.id) ?? []), r]);
  for (const r of log) assert.equal(byId.get(r.id)?.length, 1, `${r.id} written once`);
  for (const ack of acks.filter((a) => a.seq !== undefined)) {
    const found = byId.get(ack.id as string);
    assert.equal(found?.length, 1, `acknowledged line ${ack.line} (${ack.id}) is in the log once`);
    assert.equal(found?.[0]?.seq, ack.seq);
    assert.equal(found?.[0]?.stream, ack.stream);
  }
}

describe('events ingest: JSON lines in, one acknowledgement per line out', () => {
  it('acknowledges every line in order; a bad line in the middle is refused and the rest go on', async () => {
    const dir = tempDir();
    const input = [
      line(1),
      'not json',
      '',
      '{"event_type":"agent_started","data":{}}',
      '[1,2]',
      '{"event_type":"note","job_id":"another-job"}',
      line(2),
      `{"event_type":"note","data":{"text":"${'x'.repeat(1_200_000)}"}}`,
      Buffer.from([0x7b, 0xff, 0xfe, 0x7d]).toString('latin1'),
      line(3),
      '{"event_type":"last_line_without_newline"}',
    ];
    const bytes = Buffer.concat(
      input.map((l, i) =>
        Buffer.from(l + (i === input.length - 1 ? '' : '\r\n'), i === 8 ? 'latin1' : 'utf8'),
      ),
    );
    const result = await runCli(['ingest', '--dir', dir, '--job', 'j1'], { input: bytes });
    assert.equal(result.code, 4, result.stderr);
    assert.match(result.stderr, /^events: 6 of 11 lines refused; their acknowledgements say why\n$/);
    const acks = acksOf(result.stdout);
    assert.deepEqual(
      acks.map((a) => a.line),
      Array.from({ length: 11 }, (_, i) => i + 1),
    );
    assert.deepEqual(
      acks.map((a) => (a.seq !== undefined ? `seq ${a.seq}` : (a.skipped ?? a.error?.slice(0, 40)))),
      [
        'seq 1',
        "not JSON: Unexpected token 'o', \"not jso",
        'blank line',
        'invalid agent_started event: agent_id: r',
        'invalid unknown event: event: must be a ',
        'invalid note event: job_id: not a field ',
        'seq 2',
        'longer than 1114112 bytes',
        'not valid UTF-8',
        'seq 3',
        'seq 4',
      ],
    );
    const log = await queryRecords(dir, 'j1');
    assert.deepEqual(
      log.map((r) => r.seq),
      [1, 2, 3, 4],
    );
    assertAckedOnce(acks, log);
    await assertVerifies(dir);
  });

  it('EOF closes the log: exit 0, the stream free for the next writer, the chain whole', async () => {
    const dir = tempDir();
    const lines = Array.from({ length: 3000 }, (_, i) => line(i)).join('\n') + '\n';
    const first = await runCli(['ingest', '--dir', dir, '--job', 'j1'], { input: lines });
    assert.equal(first.code, 0, first.stderr);
    const acks = acksOf(first.stdout);
    assert.equal(acks.length, 3000);
    assert.ok(acks.every((a, i) => a.seq === i + 1 && a.stream === 'main'));
    // The same input again: every id was written, so every line gets its first receipt and nothing is added.
    const again = await runCli(['ingest', '--dir', dir, '--job', 'j1'], { input: lines });
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(acksOf(again.stdout), acks);
    assert.equal((await queryRecords(dir, 'j1')).length, 3000);
    const empty = await runCli(['ingest', '--dir', dir, '--job', 'j1'], { input: '' });
    assert.equal(empty.code, 0, empty.stderr);
    assert.equal(empty.stdout, '');
  });

  it('SIGKILL mid-stream: every acknowledged line is in the log exactly once, and the log verifies', async () => {
    const dir = tempDir();
    const ingest = new LiveCli(['ingest', '--dir', dir, '--job', 'j1'], { stdin: true });
    let sent = 0;
    const writing = (async () => {
      while (sent < 200_000) {
        const batch = Array.from({ length: 500 }, (_, k) => line(sent + k)).join('\n') + '\n';
        sent += 500;
        try {
          await ingest.write(batch);
        } catch {
          return;
        }
      }
    })();
    await ingest.waitForLines(5000, 30_000);
    ingest.kill('SIGKILL');
    const ended = await ingest.exited;
    assert.equal(ended.signal, 'SIGKILL');
    await writing;
    const acks = ingest.lines.filter((l) => l !== '').map((l) => JSON.parse(l) as Ack);
    assert.ok(acks.length >= 5000);
    assert.ok(
      acks.every((a, i) => a.line === i + 1 && a.seq === i + 1),
      'in order, none refused',
    );
    const log = await queryRecords(dir, 'j1');
    assertAckedOnce(acks, log);
    // What was written but not acknowledged yet may be there too, in order, after the acknowledged.
    assert.deepEqual(
      log.map((r) => r.id),
      log.map((_, i) => `in-${i}`),
    );
    await assertVerifies(dir);
    // A restarted ingest resending everything writes only what is missing, each line once.
    const resend = Array.from({ length: log.length + 100 }, (_, i) => line(i)).join('\n') + '\n';
    const restarted = await runCli(['ingest', '--dir', dir, '--job', 'j1'], { input: resend });
    assert.equal(restarted.code, 0, restarted.stderr);
    const after = await queryRecords(dir, 'j1');
    assert.equal(after.length, log.length + 100);
    assertAckedOnce(acksOf(restarted.stdout), after);
  });

  it('SIGTERM finishes what was read: every line read is acknowledged and written, then exit 0', async () => {
    const dir = tempDir();
    const ingest = new LiveCli(['ingest', '--dir', dir, '--job', 'j1'], { stdin: true });
    await ingest.write(Array.from({ length: 2000 }, (_, i) => line(i)).join('\n') + '\n');
    await ingest.waitForLines(2000);
    // A partial line is not a line yet: it is not written.
    await ingest.write('{"event_type":"half');
    ingest.kill('SIGTERM');
    const ended = await ingest.exited;
    assert.equal(ended.code, 0, ingest.stderr);
    const acks = ingest.lines.filter((l) => l !== '').map((l) => JSON.parse(l) as Ack);
    assert.equal(acks.length, 2000);
    const log = await queryRecords(dir, 'j1');
    assert.equal(log.length, 2000);
    assertAckedOnce(acks, log);
    await assertVerifies(dir);
  });

  it('a reader of the acknowledgements that goes away ends them quietly; the events are still written', async () => {
    const dir = tempDir();
    const lines = Array.from({ length: 3000 }, (_, i) => line(i)).join('\n') + '\n';
    const script = `node ${JSON.stringify(BIN)} ingest --dir ${JSON.stringify(dir)} --job j1 | head -1`;
    const piped = spawnSync('bash', ['-o', 'pipefail', '-c', script], { input: lines, encoding: 'utf8' });
    assert.equal(piped.stderr, '');
    assert.equal(acksOf(piped.stdout).length, 1);
    assert.equal((await queryRecords(dir, 'j1')).length, 3000);
  });

  it('a second ingest while the first runs writes to a stream of its own; a held --stream exits 6', async () => {
    const dir = tempDir();
    const first = new LiveCli(['ingest', '--dir', dir, '--job', 'j1'], { stdin: true });
    await first.write(line(1) + '\n');
    await first.waitForLines(1);
    const second = await runCli(['ingest', '--dir', dir, '--job', 'j1'], { input: line(2) + '\n' });
    assert.equal(second.code, 0, second.stderr);
    const [ack] = acksOf(second.stdout);
    assert.notEqual(ack?.stream, 'main');
    assert.equal(ack?.seq, 1);
    const held = await runCli(['ingest', '--dir', dir, '--job', 'j1', '--stream', 'main'], {
      input: line(3) + '\n',
    });
    assert.equal(held.code, 6, held.stderr);
    assert.match(held.stderr, /stream main of job j1 is locked/);
    first.endInput();
    assert.equal((await first.exited).code, 0);
  });
});

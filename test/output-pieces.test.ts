import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { EventLog } from '../src/index.js';
import { BIN, runCli, tempDir } from './helpers.js';

/**
 * Printed and exported events are written in pieces of about 64 KiB, not one write per event: try
 * to lose, reorder or cut an event at a piece's edge, and a reader that goes away mid-piece.
 */
const EVENTS = 3000;
let dir: string;

/** `events ARGS | head -n LINES`: the exit codes of both, and what head printed. */
function intoHead(
  args: string[],
  lines: number,
): { events: number; head: number; stdout: string; stderr: string } {
  const quoted = args.map((a) => `'${a}'`).join(' ');
  const run = spawnSync(
    'bash',
    ['-c', `node ${BIN} ${quoted} | head -n ${lines}; echo "\${PIPESTATUS[*]}" >&2`],
    {
      encoding: 'utf8',
    },
  );
  const codes = run.stderr.trim().split('\n').at(-1)?.split(' ').map(Number) ?? [];
  return { events: codes[0] ?? -1, head: codes[1] ?? -1, stdout: run.stdout, stderr: run.stderr };
}

describe('output in pieces', () => {
  // Made here, not in the hook: a tempDir() made in a hook is removed when the hook ends.
  dir = tempDir();
  before(async () => {
    const log = await EventLog.open({ dir, jobId: 'pieces' });
    // Varied lengths (and a multi-byte character) so that piece edges fall anywhere in a line.
    await log.appendMany(
      Array.from({ length: EVENTS }, (_, i) => ({
        event_type: 'note',
        data: { i, text: 'é'.repeat(i % 97) },
      })),
    );
    await log.close();
  });

  it('query -o jsonl prints every event once, in order, whole, and what export and export --output write agree', async () => {
    const query = await runCli(['query', '--dir', dir, '-o', 'jsonl']);
    assert.equal(query.code, 0, query.stderr);
    const lines = query.stdout.trimEnd().split('\n');
    assert.equal(lines.length, EVENTS);
    lines.forEach((line, i) => assert.equal((JSON.parse(line) as { data: { i: number } }).data.i, i));
    const exported = await runCli(['export', '--dir', dir, '--format', 'jsonl']);
    assert.equal(exported.stdout, query.stdout);
    const file = path.join(dir, 'out.csv');
    const csv = await runCli(['export', '--dir', dir, '--format', 'csv']);
    const toFile = await runCli(['export', '--dir', dir, '--format', 'csv', '--output', file]);
    assert.equal(toFile.code, 0, toFile.stderr);
    assert.equal(fs.readFileSync(file, 'utf8'), csv.stdout);
    assert.equal(csv.stdout.trimEnd().split('\n').length, EVENTS + 1);
  });

  for (const args of [
    ['query', '-o', 'jsonl'],
    ['query', '-o', 'json'],
    ['export', '--format', 'csv'],
    ['export', '--format', 'markdown'],
  ]) {
    it(`${args.join(' ')} into a reader that goes away (| head) ends quietly with exit 0`, () => {
      const run = intoHead([...args, '--dir', dir], 3);
      assert.equal(run.events, 0, run.stderr);
      assert.equal(run.stdout.split('\n').length, 4);
      assert.doesNotMatch(run.stderr.split('\n').slice(0, -2).join('\n'), /error|EPIPE/i);
    });
  }
});

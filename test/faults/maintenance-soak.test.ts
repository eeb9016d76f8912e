/**
 * Issue 10: the maintenance soak. Writers finish jobs, reopen finished ones and reuse job ids, while
 * `events prune` (age, size and count policies, archiving to another filesystem), `events rotate` and
 * `events index --rebuild` run in a loop and are SIGKILLed at random moments. At the end every
 * acknowledged event is in the live log or the archive exactly once, both verify, no lock is held and
 * no command printed an internal error. MMM_SOAK_SECONDS makes it longer (default 60).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { readEvents } from '../../src/index.js';
import { isLockHeld } from '../../src/storage/lock.js';
import { BIN, ROOT, runCli, tempDir } from '../helpers.js';

const SECONDS = Number(process.env.MMM_SOAK_SECONDS ?? 60);
const WRITERS = 3;
const WRITER = path.join(ROOT, 'test', 'children', 'soak-writer.mjs');

let seed = 20261123;
const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;

/** Runs a command, SIGKILLing it after `killAfterMs` when given; resolves with how it ended. */
function runMaybeKilled(args: string[], killAfterMs: number | undefined) {
  return new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer =
      killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr });
    });
  });
}

async function idsIn(dir: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const { record } of readEvents({ dir })) ids.push(record.id);
  return ids;
}

function lockFiles(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[])
    .filter((f) => f.endsWith('.lock'))
    .map((f) => path.join(dir, f));
}

describe('fault: maintenance soak', () => {
  it(`${SECONDS}s of writers against prune, rotate and index --rebuild killed at random`, async (t) => {
    const dir = tempDir();
    const shm = '/dev/shm';
    assert.ok(
      fs.existsSync(shm) && fs.statSync(shm).dev !== fs.statSync(os.tmpdir()).dev,
      'the soak archives to /dev/shm, a filesystem of its own (a tmpfs, as on Debian)',
    );
    const archiveRoot = fs.mkdtempSync(path.join(shm, 'mmm-soak-'));
    const archive = path.join(archiveRoot, 'archive');
    const stopFile = path.join(tempDir(), 'stop');
    try {
      const acked: string[] = [];
      const writerErrors: string[] = [];
      const writers = Array.from({ length: WRITERS }, (_, i) => {
        const child = spawn(process.execPath, [WRITER, dir, stopFile, String(i + 1)], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let pending = '';
        child.stdout.setEncoding('utf8').on('data', (d: string) => {
          const lines = (pending + d).split('\n');
          pending = lines.pop() ?? '';
          for (const line of lines) if (line.startsWith('ack ')) acked.push(line.slice(4));
        });
        child.stderr.setEncoding('utf8').on('data', (d: string) => writerErrors.push(d));
        return new Promise<number | null>((resolve) => child.on('close', resolve));
      });
      const commands = [
        ['prune', '--dir', dir, '--older-than', '1s', '--archive', archive],
        ['prune', '--dir', dir, '--max-size', '150KB', '--archive', archive],
        ['prune', '--dir', dir, '--max-events', '200', '--archive', archive],
        ['rotate', '--dir', dir],
        ['index', '--dir', dir, '--rebuild'],
      ];
      const figures = {
        cycles: 0,
        kills: 0,
        byCommand: {} as Record<string, number>,
        ms: {} as Record<string, number[]>,
      };
      const failures: string[] = [];
      // Maintenance begins once the writers have written: an events directory that is still empty
      // holds no log, and every command says so with exit 3 (cli.md, Finding the log).
      const started = Date.now();
      while (acked.length === 0 && Date.now() - started < 30_000) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const deadline = Date.now() + SECONDS * 1000;
      while (Date.now() < deadline) {
        const args = commands[Math.floor(random() * commands.length)] as string[];
        const kill = random() < 0.5 ? Math.floor(random() * 1500) : undefined;
        const began = Date.now();
        const run = await runMaybeKilled(args, kill);
        if (run.signal !== 'SIGKILL') (figures.ms[args[0] as string] ??= []).push(Date.now() - began);
        figures.cycles++;
        figures.byCommand[args[0] as string] = (figures.byCommand[args[0] as string] ?? 0) + 1;
        if (run.signal === 'SIGKILL') figures.kills++;
        else if (run.code !== 0 && run.code !== 6)
          failures.push(`${args.join(' ')}: exit ${run.code}: ${run.stderr}`);
        if (/internal error/.test(run.stderr)) failures.push(`${args.join(' ')}: ${run.stderr}`);
      }
      fs.writeFileSync(stopFile, '');
      const writerCodes = await Promise.all(writers);
      // What a cron run after the kills does: the next prune finishes what a killed one began, and
      // rotate seals what killed runs left.
      for (const args of [
        ['prune', '--dir', dir, '--older-than', '3650d', '--archive', archive],
        ['rotate', '--dir', dir],
      ]) {
        const run = await runCli(args);
        assert.equal(run.code, 0, `${args.join(' ')}: ${run.stderr}`);
      }
      assert.deepEqual(failures, []);
      assert.deepEqual(writerErrors, []);
      assert.deepEqual(writerCodes, Array(WRITERS).fill(0));

      const found = [...(await idsIn(dir)), ...(fs.existsSync(archive) ? await idsIn(archive) : [])];
      const counts = new Map<string, number>();
      for (const id of found) counts.set(id, (counts.get(id) ?? 0) + 1);
      const lost = acked.filter((id) => !counts.has(id)).length;
      const duplicated = [...counts.values()].filter((n) => n > 1).length;
      t.diagnostic(
        `soak: ${figures.cycles} maintenance runs (${JSON.stringify(figures.byCommand)}), ${figures.kills} SIGKILLed; ` +
          `${acked.length} events acknowledged by ${WRITERS} writers; ${found.length} found; lost ${lost}, duplicated ${duplicated}; ` +
          `median ms of completed runs: ${JSON.stringify(Object.fromEntries(Object.entries(figures.ms).map(([c, v]) => [c, v.sort((a, b) => a - b)[v.length >> 1]])))}`,
      );
      assert.deepEqual({ lost, duplicated }, { lost: 0, duplicated: 0 });
      assert.ok(figures.kills > 0 && acked.length > 0);
      for (const d of [dir, archive]) {
        if (!fs.existsSync(d)) continue;
        const verify = await runCli(['verify', '--dir', d]);
        assert.equal(verify.code, 0, `verify --dir ${d}: ${verify.stdout}${verify.stderr}`);
        for (const lock of lockFiles(d)) assert.equal(await isLockHeld(lock), false, `${lock} is still held`);
      }
    } finally {
      fs.rmSync(archiveRoot, { recursive: true, force: true });
    }
  });
});

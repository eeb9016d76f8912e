import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import crypto from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { after } from 'node:test';
import type { EventRecord } from '../src/index.js';

export const ROOT = path.resolve(import.meta.dirname, '..');
export const BIN = path.join(ROOT, 'bin', 'events.js');

/** A fresh temporary directory, removed when the test file ends. */
export function tempDir(prefix = 'mmm-events-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the real `bin/events` as a user would, with pinned TZ and colour. */
export function runCli(
  args: string[],
  options: SpawnOptions & { env?: NodeJS.ProcessEnv; input?: string | Buffer } = {},
): Promise<CliResult> {
  return runNode([BIN, ...args], options);
}

export function runNode(
  args: string[],
  options: SpawnOptions & { env?: NodeJS.ProcessEnv; input?: string | Buffer } = {},
): Promise<CliResult> {
  const { input, ...spawnOptions } = options;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      ...spawnOptions,
      env: { ...process.env, TZ: 'UTC', NO_COLOR: '1', ...options.env },
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    if (input !== undefined) child.stdin?.end(input);
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** A job's records as `events query -o jsonl` prints them (asserting that it exits 0). */
export async function queryRecords(dir: string, job: string): Promise<EventRecord[]> {
  const result = await runCli(['query', '--dir', dir, '--job', job, '-o', 'jsonl']);
  if (result.code !== 0) throw new Error(`events query exited ${String(result.code)}: ${result.stderr}`);
  return result.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as EventRecord);
}

/** Asserts that `events verify` finds the log whole. */
export async function assertVerifies(dir: string): Promise<void> {
  const verify = await runCli(['verify', '--dir', dir]);
  if (verify.code !== 0)
    throw new Error(`events verify exited ${String(verify.code)}: ${verify.stdout}${verify.stderr}`);
}

/** The segments of a job in log order, plain or compressed (the plain file when both exist). */
export function segmentFiles(jobDir: string): string[] {
  const names = fs.readdirSync(jobDir).filter((f) => /^events-.+\.jsonl(\.gz)?$/.test(f));
  return names
    .filter((f) => !(f.endsWith('.gz') && names.includes(f.slice(0, -3))))
    .sort((a, b) => a.replace(/\.gz$/, '').localeCompare(b.replace(/\.gz$/, '')))
    .map((f) => path.join(jobDir, f));
}

/** The raw lines of a file, without their `\n`; asserts nothing about their content. */
export function rawLines(file: string): string[] {
  const bytes = fs.readFileSync(file);
  const text = (file.endsWith('.gz') ? zlib.gunzipSync(bytes) : bytes).toString('utf8');
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

/**
 * Checks one stream file independently of the library: every line parses, seq runs 1..n without gaps,
 * and each prev is the first 32 hex chars of SHA-256 of the previous line (the first line's from the
 * genesis string of DESIGN.md). Returns the parsed records.
 */
export function checkChain(
  files: string | string[],
  logId: string,
  stream: string,
): Record<string, unknown>[] {
  const sha = (s: string) => crypto.createHash('sha256').update(s).digest('hex').slice(0, 32);
  let prev = sha(`mmm-events/1\n${logId}\n${stream}`);
  const records: Record<string, unknown>[] = [];
  const file = [files].flat().join(', ');
  [files]
    .flat()
    .flatMap(rawLines)
    .forEach((line, i) => {
      const record = JSON.parse(line) as Record<string, unknown>;
      if (record.seq !== i + 1) throw new Error(`line ${i + 1} of ${file} has seq ${String(record.seq)}`);
      if (record.prev !== prev)
        throw new Error(`line ${i + 1} of ${file}: prev ${String(record.prev)}, expected ${prev}`);
      if (record.stream !== stream)
        throw new Error(`line ${i + 1} of ${file} names stream ${String(record.stream)}`);
      prev = sha(line);
      records.push(record);
    });
  return records;
}

export function logIdOf(jobDir: string): string {
  return (JSON.parse(fs.readFileSync(path.join(jobDir, 'LOG.json'), 'utf8')) as { log_id: string }).log_id;
}

export const progressEvent = (i: number, agent = 'agent-1') =>
  ({
    event_type: 'agent_progress',
    agent_id: agent,
    data: { item_id: `item-${i}`, step: 'build', progress_pct: 50 },
  }) as const;

/** A running `bin/events` whose stdout is read line by line while the test acts. */
export class LiveCli {
  readonly lines: string[] = [];
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly child: ChildProcess;
  private waiters: (() => void)[] = [];

  constructor(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; stdin?: boolean } = {}) {
    this.child = spawn(process.execPath, [BIN, ...args], {
      cwd: options.cwd,
      env: { ...process.env, TZ: 'UTC', NO_COLOR: '1', ...options.env },
      stdio: [options.stdin === true ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    // A test may kill the command while writing to it: the broken pipe is expected, not a crash.
    this.child.stdin?.on('error', () => {});
    let partial = '';
    this.child.stdout?.setEncoding('utf8').on('data', (data: string) => {
      const parts = (partial + data).split('\n');
      partial = parts.pop() ?? '';
      this.lines.push(...parts);
      this.notify();
    });
    this.child.stderr?.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.exited = new Promise((resolve) =>
      this.child.on('close', (code, signal) => {
        this.notify();
        resolve({ code, signal });
      }),
    );
    after(() => this.child.kill('SIGKILL'));
  }

  /** Resolves once `count` lines have been printed; rejects after `timeoutMs` naming what it saw. */
  async waitForLines(count: number, timeoutMs = 15_000): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.lines.length < count) {
      if (this.child.exitCode !== null || Date.now() > deadline) {
        throw new Error(
          `expected ${count} lines, got ${this.lines.length} (exit ${String(this.child.exitCode)}): ${this.stderr}`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 100);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.lines.slice(0, count);
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** Writes to the command's stdin (started with `stdin: true`); resolves once the pipe took it. */
  async write(text: string): Promise<void> {
    const stdin = this.child.stdin;
    if (stdin === null) throw new Error('started without stdin: true');
    if (!stdin.write(text)) await once(stdin, 'drain');
  }

  /** Closes the command's stdin (EOF). */
  endInput(): void {
    this.child.stdin?.end();
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}

/**
 * A tmpfs of `size` mounted for the test: a real full disk. Mounting needs root (as the tests run here
 * and in CI); where it cannot be done the test fails saying so, it never passes by skipping.
 */
export function tinyFilesystem(size: string): { dir: string; unmount: () => void } {
  const dir = tempDir('mmm-events-disk-');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    throw new Error(
      `this test needs a full disk, made by mounting a ${size} tmpfs, which failed: ` +
        `${String((err as { stderr?: Buffer }).stderr ?? err).trim()} (run the tests as root, as CI does)`,
    );
  }
  return { dir, unmount: () => execFileSync('umount', [dir]) };
}

/** Runs `fn` on a tmpfs of `size` (see tinyFilesystem), unmounted afterwards whatever happens. */
export async function withTinyFilesystem(size: string, fn: (dir: string) => Promise<void>): Promise<void> {
  const fsys = tinyFilesystem(size);
  try {
    await fn(fsys.dir);
  } finally {
    fsys.unmount();
  }
}

/** Fills a filesystem to the last byte with one file, so the next write fails with ENOSPC. */
export function fillUp(dir: string): string {
  const filler = path.join(dir, 'filler');
  const fd = fs.openSync(filler, 'w');
  try {
    for (const size of [65536, 4096, 512, 64, 1]) {
      for (;;) {
        try {
          fs.writeSync(fd, Buffer.alloc(size));
        } catch {
          break;
        }
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  return filler;
}

import { Chalk, type ChalkInstance } from 'chalk';
import type { Readable, Writable } from 'node:stream';

/** Where a command's output goes; tests pass their own streams to run the CLI in-process. */
export interface Io {
  stdout: Writable;
  stderr: Writable;
  /** What `events ingest` reads; process.stdin when the CLI runs as a program. */
  stdin?: Readable;
  env: NodeJS.ProcessEnv;
}

/** Output helpers for one run: EPIPE-safe writes and the colour decision. */
export class Output {
  /** Set when stdout was closed by the reader (`events query | head`): stop producing output. */
  closed = false;
  /** Set when stdout failed otherwise (a full disk under `> file`): output stops, the run exits 5. */
  failure: NodeJS.ErrnoException | undefined;
  private colorFlag: boolean | undefined;

  constructor(readonly io: Io) {
    io.stdout.on('error', (err: NodeJS.ErrnoException) => {
      this.closed = true;
      if (err.code !== 'EPIPE') this.failure ??= err;
    });
  }

  /** Writes unless the reader has gone; false when the caller should wait for 'drain'. */
  out(text: string): boolean {
    if (this.closed) return true;
    return this.io.stdout.write(text);
  }

  err(text: string): void {
    this.io.stderr.write(text);
  }

  get isTTY(): boolean {
    return (this.io.stdout as { isTTY?: boolean }).isTTY === true;
  }

  /** --color / --no-color, else NO_COLOR, FORCE_COLOR, and whether stdout is a terminal. */
  setColor(flag: boolean | undefined): void {
    this.colorFlag = flag;
  }

  get chalk(): ChalkInstance {
    return new Chalk({ level: this.useColor() ? 1 : 0 });
  }

  private useColor(): boolean {
    if (this.colorFlag !== undefined) return this.colorFlag;
    const env = this.io.env;
    if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
    if (env.FORCE_COLOR !== undefined) return env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false';
    return this.isTTY && env.TERM !== 'dumb';
  }
}

/**
 * Resolves once what was written to `stream` is handed over (or has failed), so a process can exit
 * without cutting output. Not by waiting for 'drain': it comes only after a write that returned false,
 * so writes queued behind a full pipe otherwise finish with no event, and the wait, with nothing left
 * to keep the process alive, ended it with exit 13. The callback of an empty write runs once every
 * write before it is done or failed (or the stream destroyed), whichever comes.
 */
export function drain(stream: Writable): Promise<void> {
  return new Promise((resolve) => {
    // Ended: nothing more may be written, and what is queued is still written before the process exits.
    if (stream.writableLength === 0 || stream.destroyed || stream.writableEnded) return resolve();
    stream.write('', () => resolve());
  });
}

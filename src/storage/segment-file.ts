import fs from 'node:fs';
import { errnoCode, WriteError } from '../format/errors.js';
import { openRegularSync } from './fsutil.js';

/**
 * The open active segment of one stream: appends whole batches, syncs, and can cut a failed batch
 * off again so that the file always ends at a whole line. Every failure becomes a WriteError.
 */
export class SegmentFile {
  private constructor(
    readonly file: string,
    private fd: number,
    /** Bytes of whole lines in the file: where the next batch starts. */
    public size: number,
  ) {}

  private dirty = false;

  static open(file: string, size: number): SegmentFile {
    return new SegmentFile(file, openRegularSync(file, 'a'), size);
  }

  /** Writes the whole buffer (looping over short writes); on failure cuts the file back to `size`. */
  async append(buffer: Buffer): Promise<void> {
    try {
      this.repairIfDirty();
      let written = 0;
      while (written < buffer.length) {
        written += await new Promise<number>((resolve, reject) => {
          fs.write(this.fd, buffer, written, buffer.length - written, null, (err, n) =>
            err ? reject(err) : resolve(n),
          );
        });
      }
    } catch (err) {
      throw this.failed('write', err);
    }
  }

  /** Synchronous append, for buffered mode and the exit hook: nothing is ever left in flight. */
  appendSync(buffer: Buffer): void {
    try {
      this.repairIfDirty();
      let written = 0;
      while (written < buffer.length) written += fs.writeSync(this.fd, buffer, written);
    } catch (err) {
      throw this.failed('write', err);
    }
  }

  async sync(): Promise<void> {
    try {
      await new Promise<void>((resolve, reject) =>
        fs.fdatasync(this.fd, (err) => (err ? reject(err) : resolve())),
      );
    } catch (err) {
      // After a failed fsync the kernel may have dropped the dirty pages: nothing in the batch is known
      // to be on disk, so it is cut off and rejected (the "fsyncgate" lesson).
      throw this.failed('fsync', err);
    }
    this.checkLinked();
  }

  syncSync(): void {
    try {
      fs.fdatasyncSync(this.fd);
    } catch (err) {
      throw this.failed('fsync', err);
    }
    this.checkLinked();
  }

  /** Marks `bytes` more as whole lines on disk. */
  commit(bytes: number): void {
    this.size += bytes;
  }

  /** Cuts anything after the last committed byte (a failed or partial batch). */
  repair(): void {
    fs.ftruncateSync(this.fd, this.size);
    this.dirty = false;
  }

  /** Writes land at the end of an O_APPEND file: a batch that could not be cut off yet must be first. */
  private repairIfDirty(): void {
    if (this.dirty) this.repair();
  }

  close(): void {
    if (this.fd < 0) return;
    const fd = this.fd;
    this.fd = -1;
    fs.closeSync(fd);
  }

  /** A segment whose directory was deleted still accepts writes, into a file nobody can read. */
  private checkLinked(): void {
    let links: number;
    try {
      links = fs.fstatSync(this.fd).nlink;
    } catch (err) {
      throw new WriteError(`cannot stat ${this.file}: ${errnoCode(err)}`, errnoCode(err), { cause: err });
    }
    if (links === 0) {
      throw new WriteError(`${this.file} was deleted while the log was open`, 'ENOENT', {
        hint: 'the events were not kept; reopen the log to start a new segment',
      });
    }
  }

  private failed(op: string, err: unknown): WriteError {
    const code = errnoCode(err);
    let repaired = true;
    try {
      this.repair();
    } catch {
      repaired = false;
      this.dirty = true;
    }
    return new WriteError(
      `${op} to ${this.file} failed: ${code}${repaired ? '' : ' (and the partial batch could not be cut off yet)'}`,
      code,
      {
        cause: err,
        hint: code === 'ENOSPC' ? 'free disk space; appends resume once there is room' : undefined,
      },
    );
  }
}

import fs from 'node:fs/promises';
import {
  closeSync,
  constants,
  fstatSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { DataError } from '../format/errors.js';
import { tempPathFor } from '../format/paths.js';

/**
 * Opens a file the log reads or writes, refusing anything that is not a regular file (a FIFO, a
 * device, a directory, a symbolic link) without blocking on it: O_NONBLOCK makes opening a FIFO
 * return at once, O_NOFOLLOW refuses a link, and fstat on the open descriptor decides (issue 10).
 * `flags` is 'r', 'r+', 'a' or 'wx'. Errors of the open itself (ENOENT, EACCES) are thrown as they are.
 */
export async function openRegular(
  file: string,
  flags: 'r' | 'r+' | 'a' | 'wx' = 'r',
): Promise<fs.FileHandle> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, openFlags(flags));
  } catch (err) {
    throw refusedOrRaw(file, err);
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw notRegular(file, describeType(stat));
  } catch (err) {
    await handle.close();
    throw err;
  }
  return handle;
}

/** openRegular for code that must not yield: returns a file descriptor. */
export function openRegularSync(file: string, flags: 'r' | 'r+' | 'a' | 'wx' = 'r'): number {
  let fd: number;
  try {
    fd = openSync(file, openFlags(flags));
  } catch (err) {
    throw refusedOrRaw(file, err);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw notRegular(file, describeType(stat));
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  return fd;
}

/** A whole regular file as text (see openRegular). */
export async function readRegularFile(file: string): Promise<string> {
  const handle = await openRegular(file, 'r');
  try {
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

/** readRegularFile for code that must not yield. */
export function readRegularFileSync(file: string): string {
  const fd = openRegularSync(file, 'r');
  try {
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

/** The error for a path that is there but is not a regular file: damage, naming the path. */
export function notRegular(file: string, what: string): DataError {
  return new DataError(`${file} is ${what}, not a regular file`, {
    hint: 'move it away; the log only reads and writes regular files',
  });
}

function openFlags(flags: 'r' | 'r+' | 'a' | 'wx'): number {
  const base = {
    r: constants.O_RDONLY,
    'r+': constants.O_RDWR,
    a: constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT,
    wx: constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL,
  }[flags];
  return base | constants.O_NONBLOCK | constants.O_NOFOLLOW;
}

/** ELOOP (a link under O_NOFOLLOW) and ENXIO (a FIFO opened for writing with no reader) are damage. */
function refusedOrRaw(file: string, err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ELOOP') return notRegular(file, 'a symbolic link');
  if (code === 'ENXIO') return notRegular(file, 'a named pipe or socket');
  if (code === 'EISDIR') return notRegular(file, 'a directory');
  return err;
}

function describeType(stat: {
  isDirectory(): boolean;
  isFIFO(): boolean;
  isSocket(): boolean;
  isSymbolicLink(): boolean;
}): string {
  if (stat.isDirectory()) return 'a directory';
  if (stat.isFIFO()) return 'a named pipe';
  if (stat.isSocket()) return 'a socket';
  if (stat.isSymbolicLink()) return 'a symbolic link';
  return 'a device or special file';
}

/** Makes a directory entry durable: fsync on the directory itself. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** fsyncDir for code that must not yield (between two batches of a writer). */
export function fsyncDirSync(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** mkdir -p, then fsync every directory that was created and its parent, so the path survives a crash. */
export async function mkdirDurable(dir: string): Promise<void> {
  const first = await fs.mkdir(dir, { recursive: true });
  if (first === undefined) return;
  let current = path.resolve(dir);
  const created = path.resolve(first);
  for (;;) {
    await fsyncDir(path.dirname(current));
    if (current === created || current === path.dirname(current)) break;
    current = path.dirname(current);
  }
}

/** Writes a file whole or not at all: temp file, fsync, rename, fsync the directory. */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const tmp = await writeSyncedTemp(file, data);
  try {
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
  await fsyncDir(path.dirname(file));
}

/** writeFileAtomic for code that must not yield (a writer's rotation). */
export function writeFileAtomicSync(file: string, data: string | Uint8Array): void {
  const tmp = tempPathFor(file);
  try {
    const fd = openSync(tmp, 'wx');
    try {
      writeFileSync(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  fsyncDirSync(path.dirname(file));
}

/**
 * Writes a file whole or not at all, from output produced a piece at a time (an export larger than
 * memory): into a temp file beside it, then fsync, rename and fsync the directory. On any failure the
 * temp file is removed and `file` is left as it was.
 */
export async function writeFileAtomicFrom<T>(
  file: string,
  produce: (write: (text: string) => Promise<void>) => Promise<T>,
): Promise<T> {
  const tmp = tempPathFor(file);
  const handle = await fs.open(tmp, 'wx');
  let pending: string[] = [];
  let pendingLength = 0;
  const flush = async () => {
    const text = pending.join('');
    pending = [];
    pendingLength = 0;
    if (text !== '') await handle.write(text);
  };
  try {
    const result = await produce(async (text) => {
      pending.push(text);
      pendingLength += text.length;
      if (pendingLength >= 256 * 1024) await flush();
    });
    await flush();
    await handle.sync();
    await handle.close();
    await fs.rename(tmp, file);
    await fsyncDir(path.dirname(file));
    return result;
  } catch (err) {
    await handle.close().catch(() => undefined);
    await fs.rm(tmp, { force: true });
    throw err;
  }
}

/**
 * Creates `file` with `data` only if it does not exist yet (hard link of a synced temp file, which
 * fails with EEXIST instead of clobbering). Returns false when another process created it first.
 */
export async function createFileExclusive(file: string, data: string): Promise<boolean> {
  const tmp = await writeSyncedTemp(file, data);
  try {
    await fs.link(tmp, file);
    await fsyncDir(path.dirname(file));
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await fs.rm(tmp, { force: true });
  }
}

export async function pathExists(p: string): Promise<boolean> {
  try {
    await fs.access(p);
    return true;
  } catch {
    return false;
  }
}

/** A new temporary file beside `file` holding `data`, synced; returns its path. */
async function writeSyncedTemp(file: string, data: string | Uint8Array): Promise<string> {
  const tmp = tempPathFor(file);
  const handle = await fs.open(tmp, 'wx');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  return tmp;
}

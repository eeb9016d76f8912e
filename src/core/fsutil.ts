import fs from 'node:fs/promises';
import { closeSync, fsyncSync, openSync } from 'node:fs';
import path from 'node:path';

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

/**
 * Writes a file whole or not at all, from output produced a piece at a time (an export larger than
 * memory): into a temp file beside it, then fsync, rename and fsync the directory. On any failure the
 * temp file is removed and `file` is left as it was.
 */
export async function writeFileAtomicFrom<T>(
  file: string,
  produce: (write: (text: string) => Promise<void>) => Promise<T>,
): Promise<T> {
  const tmp = tempNameFor(file);
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
  const tmp = tempNameFor(file);
  const handle = await fs.open(tmp, 'wx');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  return tmp;
}

function tempNameFor(file: string): string {
  return `${file}.tmp-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
}

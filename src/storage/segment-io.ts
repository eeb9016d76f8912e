import type { FileHandle } from 'node:fs/promises';
import { openRegular } from './fsutil.js';

/** Opens a file of the log (a regular file only, see openRegular), uses it, and closes it. */
export async function withFile<T>(file: string, use: (handle: FileHandle) => Promise<T>): Promise<T> {
  const handle = await openRegular(file, 'r');
  try {
    return await use(handle);
  } finally {
    await handle.close();
  }
}

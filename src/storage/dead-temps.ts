import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { errnoCode } from '../format/errors.js';
import { isOwnerAlive } from './lock.js';
import { tempFileOwner } from '../format/paths.js';

/**
 * Removes the temporary files in `dir` whose process is gone (a write a kill interrupted), recognised
 * by the `.tmp-<pid>-` prefix no name of the log's own can have (format.md section 1). Returns each
 * removed file's name and size.
 */
export async function removeDeadTemps(dir: string): Promise<{ name: string; bytes: number }[]> {
  const removed: { name: string; bytes: number }[] = [];
  for (const name of await fs.readdir(dir)) {
    const pid = tempFileOwner(name);
    if (pid === undefined || isOwnerAlive({ pid, host: os.hostname(), started: '' })) continue;
    const file = path.join(dir, name);
    try {
      const bytes = (await fs.stat(file)).size;
      await fs.rm(file);
      removed.push({ name, bytes });
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
    }
  }
  return removed;
}

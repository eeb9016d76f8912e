import fs from 'node:fs/promises';
import path from 'node:path';
import { errnoCode } from '../format/errors.js';
import { listSegments } from '../storage/segments.js';

/** The size of a regular file, 0 when it is gone or not a file. */
export async function sizeOnDisk(file: string): Promise<number> {
  try {
    const stat = await fs.stat(file);
    return stat.isFile() ? stat.size : 0;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return 0;
    throw err;
  }
}

/** The job's segments and their sizes: what a writer that reopened the job would change. */
export async function jobFingerprint(jobDir: string): Promise<string> {
  const parts: string[] = [];
  for (const segment of await listSegments(jobDir)) {
    parts.push(`${segment.file}:${await sizeOnDisk(path.join(jobDir, segment.file))}`);
  }
  return parts.join(',');
}

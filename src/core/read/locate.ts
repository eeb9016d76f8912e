import fs from 'node:fs';
import path from 'node:path';
import { NotFoundError } from '../errors.js';
import { DEFAULT_EVENTS_DIR } from '../paths.js';

/**
 * Where the log is (issue 3): the given directory; else $MMM_EVENTS_DIR; else the nearest
 * `.mmm/mapreduce/events` walking up from `cwd`, the way git finds `.git`.
 */
export function locateEventsDir(
  options: { dir?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): string {
  const cwd = options.cwd ?? process.cwd();
  const explicit = options.dir ?? (options.env?.MMM_EVENTS_DIR || undefined);
  if (explicit !== undefined) {
    const dir = path.resolve(cwd, explicit);
    if (!isDirectory(dir)) {
      const source = options.dir !== undefined ? '--dir' : '$MMM_EVENTS_DIR';
      throw new NotFoundError(`no events directory at ${dir} (from ${source})`);
    }
    return dir;
  }
  for (let current = path.resolve(cwd); ; current = path.dirname(current)) {
    const candidate = path.join(current, DEFAULT_EVENTS_DIR);
    if (isDirectory(candidate)) return candidate;
    if (path.dirname(current) === current) break;
  }
  throw new NotFoundError(
    `no ${DEFAULT_EVENTS_DIR} found in ${path.resolve(cwd)} or any directory above it`,
    { hint: 'pass --dir or set MMM_EVENTS_DIR' },
  );
}

function isDirectory(dir: string): boolean {
  try {
    return fs.statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

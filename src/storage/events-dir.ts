import path from 'node:path';
import { DEFAULT_EVENTS_DIR } from '../format/paths.js';

/** Where the events directory came from: given, from the environment, or the default. */
export type EventsDirSource = '--dir' | '$MMM_EVENTS_DIR' | 'default';

/**
 * The events directory the writer and the CLI agree on (issue 12): the given `dir`, else
 * $MMM_EVENTS_DIR (an empty value counts as unset), else `.mmm/mapreduce/events` (format.md section 1),
 * relative to `cwd`. The CLI looks for the default walking up from `cwd` (see `locateEventsDir`).
 */
export function resolveEventsDir(
  dir: string | undefined,
  env: NodeJS.ProcessEnv | undefined,
  cwd: string = process.cwd(),
): { dir: string; source: EventsDirSource } {
  if (dir !== undefined) return { dir: path.resolve(cwd, dir), source: '--dir' };
  const fromEnv = env?.MMM_EVENTS_DIR;
  if (fromEnv) return { dir: path.resolve(cwd, fromEnv), source: '$MMM_EVENTS_DIR' };
  return { dir: path.resolve(cwd, DEFAULT_EVENTS_DIR), source: 'default' };
}

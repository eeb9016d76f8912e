import fs from 'node:fs';
import path from 'node:path';
import { NotFoundError } from '../format/errors.js';
import { isJobDirName } from '../format/ids.js';
import {
  DEFAULT_EVENTS_DIR,
  GLOBAL_DIR,
  MANIFEST_FILE,
  parseSegmentFileName,
  PRUNING_PREFIX,
  PRUNE_CONFIG_FILE,
  isGlobalFileName,
} from '../format/paths.js';
import { resolveEventsDir } from '../storage/events-dir.js';

/** What the located directory must hold (issue 11 point 7: a wrong `--dir` must not look like success). */
export type LocateNeed =
  /** any directory: what `locateEventsDir` checked before (the default, for the library) */
  | 'directory'
  /** a log (see holdsLog); otherwise NotFoundError, suggesting a directory nearby that holds one */
  | 'log'
  /** a log, or an events directory no job has written to yet, which `tail -f` waits on (see awaitsLog) */
  | 'log-or-new';

export interface LocateOptions {
  dir?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  need?: LocateNeed;
}

/**
 * Where the log is (issue 3): the given directory; else $MMM_EVENTS_DIR; else the nearest
 * `.mmm/mapreduce/events` walking up from `cwd`, the way git finds `.git`. With `need: 'log'` the
 * directory must also hold a log: a project root, `.mmm` or an empty directory is a NotFoundError
 * naming it, with the events directory found below or above it, if any, as a hint.
 */
export function locateEventsDir(options: LocateOptions = {}): string {
  const cwd = options.cwd ?? process.cwd();
  const resolved = resolveEventsDir(options.dir, options.env, cwd);
  let dir: string | undefined;
  let source: Source = 'found';
  if (resolved.source !== 'default') {
    dir = resolved.dir;
    source = resolved.source;
    if (!isDirectory(dir)) throw new NotFoundError(`no events directory at ${dir} (from ${source})`);
  } else {
    for (let current = path.resolve(cwd); ; current = path.dirname(current)) {
      const candidate = path.join(current, DEFAULT_EVENTS_DIR);
      if (isDirectory(candidate)) {
        dir = candidate;
        break;
      }
      if (path.dirname(current) === current) break;
    }
    if (dir === undefined) {
      throw new NotFoundError(
        `no ${DEFAULT_EVENTS_DIR} found in ${path.resolve(cwd)} or any directory above it`,
        { hint: 'pass --dir or set MMM_EVENTS_DIR' },
      );
    }
  }
  const need = options.need ?? 'directory';
  if (need === 'directory') return dir;
  const seen = inspect(dir);
  if (seen === 'log' || seen === 'unreadable') return dir; // unreadable: the read itself says why
  if (need === 'log-or-new' && awaitsLog(dir, seen)) return dir;
  throw noLog(dir, source, seen, need);
}

/**
 * Whether `dir` holds an event log: a job directory (a job's name, with LOG.json or a segment: a
 * damaged job is still a log, for `verify` to report), `global/` with prune's audit trail or lock
 * (what is left when every job was pruned), `prune.json` (a retention policy), or a job prune is
 * removing (`.pruning-*`). An unreadable directory counts: reading it reports the error.
 */
export function holdsLog(dir: string): boolean {
  const seen = inspect(dir);
  return seen === 'log' || seen === 'unreadable';
}

/**
 * An events directory no job has written to yet, which `tail -f` may wait on: it is empty, or it is
 * the default `.mmm/mapreduce/events` itself. A project root or `.mmm` is neither.
 */
function awaitsLog(dir: string, seen: Seen = inspect(dir)): boolean {
  if (seen === 'log' || seen === 'unreadable') return false;
  return seen === 'empty' || path.resolve(dir).endsWith(path.sep + DEFAULT_EVENTS_DIR);
}

type Source = '--dir' | '$MMM_EVENTS_DIR' | 'found';
type Seen = 'log' | 'empty' | 'other' | 'unreadable';

function inspect(dir: string): Seen {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return 'unreadable';
  }
  if (entries.length === 0) return 'empty';
  for (const entry of entries) {
    if (entry.name === PRUNE_CONFIG_FILE && entry.isFile()) return 'log';
    if (entry.name.startsWith(PRUNING_PREFIX) && entry.isDirectory()) return 'log';
    if (entry.name === GLOBAL_DIR && entry.isDirectory() && isGlobalDir(path.join(dir, entry.name))) {
      return 'log';
    }
  }
  for (const entry of entries) {
    if (entry.isDirectory() && isJobDir(path.join(dir, entry.name), false)) return 'log';
  }
  return 'other';
}

/** A job directory: a job's name and its LOG.json, or (unless `manifestOnly`) one of its segments. */
function isJobDir(jobDir: string, manifestOnly: boolean): boolean {
  if (!isJobDirName(path.basename(jobDir))) return false;
  try {
    const stat = fs.lstatSync(jobDir);
    if (!stat.isDirectory()) return false; // a symbolic link could lead anywhere: not a job
    if (fs.existsSync(path.join(jobDir, MANIFEST_FILE))) return true;
    return !manifestOnly && fs.readdirSync(jobDir).some((name) => parseSegmentFileName(name) !== undefined);
  } catch {
    return false;
  }
}

/** `global/` as prune leaves it: an audit trail, saved metrics or prune's lock (format.md section 1). */
function isGlobalDir(globalDir: string): boolean {
  try {
    return fs.readdirSync(globalDir).some((name) => isGlobalFileName(name));
  } catch {
    return false;
  }
}

function noLog(dir: string, source: Source, seen: Seen, need: LocateNeed): NotFoundError {
  const why =
    seen === 'empty'
      ? 'it is empty'
      : isJobDir(dir, false)
        ? 'it is the directory of one job'
        : 'no job directory, global/ or prune.json in it';
  const from = source === 'found' ? '' : ` (from ${source})`;
  const suggestion = suggest(dir, need);
  let hint: string;
  if (suggestion !== undefined) {
    hint =
      source === '$MMM_EVENTS_DIR'
        ? `did you mean MMM_EVENTS_DIR=${suggestion}?`
        : `did you mean --dir ${suggestion}?`;
  } else if (source === 'found') {
    hint = 'no job has written to it yet; pass --dir or set MMM_EVENTS_DIR to read another log';
  } else {
    hint = `give the directory that holds the job directories, by default ${DEFAULT_EVENTS_DIR}`;
  }
  return new NotFoundError(`${dir}${from} holds no event log: ${why}`, { hint });
}

/**
 * An events directory near `dir` that holds a log (or, for `tail -f`, awaits one): below it, as from a
 * project root, `.mmm` or `.mmm/mapreduce`; the events directory `dir` is inside (a job directory, its
 * `quarantine/`, `global/`); or the nearest `.mmm/mapreduce/events` above it.
 */
function suggest(dir: string, need: LocateNeed): string | undefined {
  const usable = (candidate: string): boolean => {
    if (candidate === dir || !isDirectory(candidate)) return false;
    const seen = inspect(candidate);
    return seen === 'log' || (need === 'log-or-new' && awaitsLog(candidate, seen));
  };
  for (const below of [DEFAULT_EVENTS_DIR, path.join('mapreduce', 'events'), 'events']) {
    const candidate = path.join(dir, below);
    if (usable(candidate)) return candidate;
  }
  for (
    let child = dir, parent = path.dirname(dir);
    parent !== child;
    child = parent, parent = path.dirname(parent)
  ) {
    const name = path.basename(child);
    const inside =
      isJobDir(child, true) || (name === GLOBAL_DIR && isGlobalDir(child)) || name.startsWith(PRUNING_PREFIX);
    if (inside && usable(parent)) return parent;
  }
  for (let current = path.dirname(dir); ; current = path.dirname(current)) {
    const candidate = path.join(current, DEFAULT_EVENTS_DIR);
    if (usable(candidate)) return candidate;
    if (path.dirname(current) === current) return undefined;
  }
}

function isDirectory(dir: string): boolean {
  try {
    return fs.statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

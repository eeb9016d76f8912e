import path from 'node:path';
import { InvalidArgumentError } from '../format/errors.js';
import { linesOf, rangeChunks, type ReadStats } from '../storage/line-reader.js';
import { parseRecord } from '../format/record.js';
import { readableSegments, currentSegmentFile } from '../storage/segments.js';
import { BUILTIN_EVENT_TYPES, isBuiltinEventType } from '../format/schema/event-types.js';
import { EVENT_TYPE_PATTERN } from '../format/schema/envelope.js';
import { readIndexTail, readSegmentIndex } from '../storage/segment-index.js';
import { listJobIds, openJob } from '../storage/jobs-dir.js';
import { isCompressed } from '../format/paths.js';

/** The CLI accepts `AgentFailed`, `agent_failed` and `agent-failed`; on disk it is `agent_failed`. */
export function normalizeEventType(name: string): string {
  return name
    .trim()
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/-/g, '_')
    .toLowerCase();
}

/** Whether a --kind value is a glob: `*` stands for any run of characters, anywhere in the name. */
export function isKindGlob(kind: string): boolean {
  return kind.includes('*');
}

/** A normalized glob (`agent_*`, `*failed`, `job_*ed`) as an anchored regular expression. */
function globRegex(glob: string): RegExp {
  const source = glob
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${source}$`);
}

/**
 * The literal pieces of a normalized kind (an exact name is one piece): every line of a matching event
 * contains all of them.
 */
export function kindLiterals(kind: string): string[] {
  return normalizeEventType(kind)
    .split('*')
    .filter((piece) => piece !== '');
}

/** A --kind matcher: exact types, and globs such as `agent_*`, `Agent*` or `*failed`. */
export function kindMatcher(kinds: readonly string[]): ((type: string) => boolean) | undefined {
  if (kinds.length === 0) return undefined;
  const exact = new Set<string>();
  const globs: RegExp[] = [];
  for (const kind of kinds) {
    const name = normalizeEventType(kind);
    if (isKindGlob(name)) globs.push(globRegex(name));
    else exact.add(name);
  }
  return (type) => exact.has(type) || globs.some((g) => g.test(type));
}

/** The event types a log holds, and whether that is all of them (false when finding out cost too much). */
export interface LogTypes {
  types: Set<string>;
  complete: boolean;
}

/**
 * The event types in the jobs of a log (all jobs when `jobs` is empty), from the segment indexes: a
 * sealed segment's seal counts its types, an active segment's blocks list theirs, and only the lines
 * written since its last block are read. A segment without a usable index is read whole, up to
 * `maxScanBytes` in all; past that `complete` is false (the types found are still returned).
 */
export async function eventTypesInLog(
  dir: string,
  jobs: readonly string[] = [],
  options: { maxScanBytes?: number } = {},
): Promise<LogTypes> {
  const state = { budget: options.maxScanBytes ?? 16 * 1024 * 1024, complete: true };
  const types = new Set<string>();
  const files: string[] = [];
  for (const job of jobs.length > 0 ? jobs : await listJobIds(dir)) {
    const { jobDir } = await openJob(dir, job);
    for (const segment of await readableSegments(jobDir)) files.push(path.join(jobDir, segment.file));
  }
  // One small read per sealed segment: overlapped, a few at a time.
  let next = 0;
  const worker = async () => {
    while (next < files.length) await segmentTypes(files[next++] as string, types, state);
  };
  await Promise.all(Array.from({ length: Math.min(8, files.length) }, worker));
  return { types, complete: state.complete };
}

async function segmentTypes(
  listed: string,
  types: Set<string>,
  state: { budget: number; complete: boolean },
): Promise<void> {
  const current = await currentSegmentFile(listed);
  if (current === undefined) return; // pruned since it was listed
  const { file, size } = current;
  const compressed = isCompressed(file);
  const tail = await readIndexTail(file, size);
  if (tail !== undefined) {
    for (const type of Object.keys(tail.seal.types)) types.add(type);
    return;
  }
  const read = await readSegmentIndex(file, size);
  let from = 0;
  if ('index' in read) {
    for (const block of read.index.blocks) for (const type of block.types) types.add(type);
    if (read.index.seal !== undefined || compressed) return;
    from = read.index.blocks.at(-1)?.off[1] ?? 0;
  }
  // The lines after the last block (or a whole segment without a usable index), within the budget.
  const bytes = compressed ? size * 8 : size - from;
  if (bytes > state.budget) {
    state.complete = false;
    return;
  }
  state.budget -= bytes;
  const stats: ReadStats = { corrupt: 0, tornTail: false };
  for await (const chunk of rangeChunks({ file, from: compressed ? 0 : from }, stats)) {
    for (const line of linesOf(chunk)) {
      const record = parseRecord(line);
      if (record !== undefined) types.add(record.event_type);
    }
  }
}

/**
 * Checks --kind values (comma lists already split) before a read: each must name a built-in type or
 * a type in the log (`logTypes`, asked only when a name is not built in), in any accepted spelling; a
 * glob must match one of those. Otherwise an InvalidArgumentError names the flag and the value, with
 * the closest existing name. When the log's types are not all known (`complete` false) a name that
 * may be among them is let through.
 */
export async function checkKinds(
  kinds: readonly string[],
  logTypes: () => Promise<LogTypes>,
  flag = '--kind',
): Promise<void> {
  let known: LogTypes | undefined;
  const fromLog = async () => (known ??= await logTypes());
  for (const kind of kinds) {
    const name = normalizeEventType(kind);
    const glob = isKindGlob(name);
    if (glob ? /^[a-z0-9_*]+$/.test(name) : EVENT_TYPE_PATTERN.test(name)) {
      const matches = glob ? globRegex(name) : undefined;
      const exists = (type: string) => (matches === undefined ? type === name : matches.test(type));
      if (glob ? BUILTIN_EVENT_TYPES.some(exists) : isBuiltinEventType(name)) continue;
      const log = await fromLog();
      if ([...log.types].some(exists) || !log.complete) continue;
    }
    // Not a name at all, or one that names nothing: say so, with the closest name there is.
    let candidates: string[] = [...BUILTIN_EVENT_TYPES];
    try {
      candidates = [...new Set([...candidates, ...(await fromLog()).types])];
    } catch {
      // the log cannot be read: suggest among the built-in types
    }
    const suggestion = glob ? undefined : closestKind(name, candidates);
    const what = glob
      ? `"${kind}" matches no event type, built in or in the log`
      : EVENT_TYPE_PATTERN.test(name)
        ? `no event type "${kind}", built in or in the log`
        : `"${kind}" is not an event type name: snake_case or PascalCase, or a glob such as agent_*`;
    throw new InvalidArgumentError(`${flag}: ${what}`, {
      hint:
        suggestion === undefined
          ? "'events stats' lists the types in the log"
          : `did you mean ${suggestion}?`,
    });
  }
}

/**
 * The name closest to a mistyped one: the family glob when it names a family (`agent` -> `agent_*`),
 * else the candidate fewest edits away (letters added, removed, changed or swapped), if it is close
 * enough to be a typo.
 */
export function closestKind(name: string, candidates: readonly string[]): string | undefined {
  const family = name.replace(/_+$/, '');
  if (family !== '' && candidates.some((c) => c.startsWith(`${family}_`))) return `${family}_*`;
  const limit = Math.max(1, Math.min(3, Math.floor(name.length / 3)));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of [...candidates].sort()) {
    const distance = editDistance(name, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= limit ? best : undefined;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps. */
export function editDistance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    const row: number[] = [i];
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        row.push(j);
        continue;
      }
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const above = rows[i - 1] as number[];
      let d = Math.min((above[j] as number) + 1, (row[j - 1] as number) + 1, (above[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d = Math.min(d, ((rows[i - 2] as number[])[j - 2] as number) + 1);
      }
      row.push(d);
    }
    rows.push(row);
  }
  return (rows[a.length] as number[])[b.length] as number;
}

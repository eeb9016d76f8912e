import { InvalidArgumentError, Option } from 'commander';

/** Options shared by several commands, defined once (STYLE.md: npm-check-updates). */
export function dirOption(): Option {
  return new Option(
    '--dir <path>',
    'the events directory (default: $MMM_EVENTS_DIR, else .mmm/mapreduce/events)',
  );
}

/**
 * Commander's way to take a flag several times, each time one value or a comma list of them:
 * `--kind a --kind b` is `--kind a,b` (spaces around the commas are dropped; `\,` is a comma inside a
 * value). An empty item (`a,,b`, a trailing comma) is refused rather than matching nothing.
 */
export const collect = (value: string, previous: string[]): string[] => [...previous, ...splitList(value)];

/** Takes a flag several times, each value whole: for values that may hold commas (`--where`). */
export const collectEach = (value: string, previous: string[]): string[] => [...previous, value];

/** A comma list as its items; a value without a comma is one item, as given. */
export function splitList(value: string): string[] {
  if (!value.includes(',')) return [value];
  const items = value.split(/(?<!\\),/).map((item) => item.replace(/\\,/g, ',').trim());
  if (items.length > 1 && items.some((item) => item === '')) {
    throw new InvalidArgumentError(`an empty item in the comma list "${value}"`);
  }
  return items;
}

/** `--job <id>`, repeatable (or a comma list): the jobs a command works on (all when none). */
export function jobsOption(): Option {
  return new Option('--job <id>', 'only this job (repeatable, or a comma list)')
    .argParser(collect)
    .default([]);
}

export function integerArg(flag: string, min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${flag} takes a whole number from ${min} to ${max}, not "${value}"`);
    }
    return n;
  };
}

export function numberArg(flag: string, min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${flag} takes a number from ${min} to ${max}, not "${value}"`);
    }
    return n;
  };
}

export function choiceArg<T extends string>(flag: string, choices: readonly T[]): (value: string) => T {
  return (value) => {
    if ((choices as readonly string[]).includes(value)) return value as T;
    throw new InvalidArgumentError(`${flag} takes one of ${choices.join(', ')}, not "${value}"`);
  };
}

/** `--durability <mode>`: when a write is acknowledged (docs/library.md, Durability). */
export function durabilityOption(): Option {
  return new Option('--durability <mode>', 'when a write is acknowledged: fsync, write or buffered')
    .argParser(choiceArg('--durability', ['fsync', 'write', 'buffered'] as const))
    .default('fsync');
}

/** --dir, else $MMM_EVENTS_DIR, else the default under the current directory. */
export function resolveDir(dir: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  return dir ?? (env.MMM_EVENTS_DIR === '' ? undefined : env.MMM_EVENTS_DIR);
}

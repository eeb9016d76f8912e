import { InvalidArgumentError, Option } from 'commander';

/** Options shared by several commands, defined once (STYLE.md: npm-check-updates). */
export function dirOption(): Option {
  return new Option(
    '--dir <path>',
    'the events directory (default: $MMM_EVENTS_DIR, else .mmm/mapreduce/events)',
  );
}

/** Commander's way to take a flag several times. */
export const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** `--job <id>`, repeatable: the jobs a command works on (all when none). */
export function jobsOption(): Option {
  return new Option('--job <id>', 'only this job (repeatable)').argParser(collect).default([]);
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

/** --dir, else $MMM_EVENTS_DIR, else the default under the current directory. */
export function resolveDir(dir: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  return dir ?? (env.MMM_EVENTS_DIR === '' ? undefined : env.MMM_EVENTS_DIR);
}

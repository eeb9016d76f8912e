/**
 * Checks of plain JSON shapes, written out rather than with zod: they run on the read path of every
 * command (index entries, a job's cached summary), where zod is not loaded.
 */

/** A check per field of T (an optional field's check is given undefined when it is absent). */
export type Checks<T> = { [K in keyof T]-?: (value: unknown) => boolean };

/** Whether `value` is an object with no field but those of `checks`, each passing its check. */
export function matchesShape<T>(
  value: unknown,
  checks: Checks<T>,
  fields: readonly (keyof T)[] = Object.keys(checks) as (keyof T)[],
): value is T {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const entry = value as Record<string, unknown>;
  return (
    Object.keys(entry).every((k) => Object.hasOwn(checks, k)) &&
    fields.every((field) => checks[field](entry[field as string]))
  );
}

export function isStrings(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

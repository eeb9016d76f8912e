import { InvalidArgumentError } from '../format/errors.js';
import type { JsonValue } from '../format/schema/input.js';

/** A JSON number, as JSON writes it (so `007`, `1.`, `0x10` and `Infinity` stay strings). */
const JSON_NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;

/**
 * `events emit`'s data fields, typed as HTTPie types them (docs/cli.md, events emit):
 * - `name=value`: a number when the value is a JSON number, `true`/`false`/`null` as such, else a string;
 * - `name:=json`: the value as raw JSON (an object, an array, a quoted string);
 * - `name==value`: always the string `value` (`code==007`).
 * A field given twice, or also in `--data`, is refused: which one was meant cannot be guessed.
 */
export function parseAssignments(
  args: readonly string[],
  base: Record<string, JsonValue> = {},
): Record<string, JsonValue> {
  const data: Record<string, JsonValue> = { ...base };
  for (const arg of args) {
    const eq = arg.indexOf('=');
    if (eq === -1)
      throw new InvalidArgumentError(`"${arg}" is not a field: write name=value, name:=json or name==string`);
    const raw = eq > 0 && arg[eq - 1] === ':';
    const literal = !raw && arg[eq + 1] === '=';
    const name = arg.slice(0, raw ? eq - 1 : eq);
    const text = arg.slice(eq + (literal ? 2 : 1));
    if (name === '') throw new InvalidArgumentError(`"${arg}" has no field name before the =`);
    if (Object.hasOwn(data, name)) {
      throw new InvalidArgumentError(`field ${name} is given twice (in the fields or in --data)`);
    }
    // defineProperty: a field named __proto__ is a field, not the object's prototype.
    Object.defineProperty(data, name, {
      value: raw ? rawJson(name, text) : literal ? text : typed(text),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return data;
}

function typed(text: string): JsonValue {
  if (JSON_NUMBER.test(text)) {
    const n = Number(text);
    if (Number.isFinite(n)) return n;
  }
  if (text === 'true') return true;
  if (text === 'false') return false;
  if (text === 'null') return null;
  return text;
}

function rawJson(name: string, text: string): JsonValue {
  try {
    return JSON.parse(text) as JsonValue;
  } catch (err) {
    throw new InvalidArgumentError(
      `field ${name}: := takes JSON, and "${text}" is not (${(err as Error).message})`,
    );
  }
}

/**
 * The event's data: `--data` (any JSON; an object when fields add to it) with the fields on top.
 * Without either, undefined: append() then applies the type's own rule.
 */
export function eventData(dataFlag: string | undefined, fields: readonly string[]): JsonValue | undefined {
  let base: unknown;
  if (dataFlag !== undefined) {
    try {
      base = JSON.parse(dataFlag);
    } catch (err) {
      throw new InvalidArgumentError(`--data takes JSON, and this is not: ${(err as Error).message}`);
    }
  }
  if (fields.length === 0) return base as JsonValue | undefined;
  if (base !== undefined && (typeof base !== 'object' || base === null || Array.isArray(base))) {
    throw new InvalidArgumentError('--data must be a JSON object when fields (name=value) add to it');
  }
  return parseAssignments(fields, (base ?? {}) as Record<string, JsonValue>);
}

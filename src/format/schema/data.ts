import type { z } from 'zod';
import {
  BUILTIN_EVENT_TABLE,
  builtinSpec,
  isBuiltinEventType,
  type BuiltinEventType,
} from './event-types.js';

/** The `data` schemas of the built-in event types, from BUILTIN_EVENT_TABLE. */
export const dataSchemas = Object.fromEntries(
  Object.entries(BUILTIN_EVENT_TABLE).map(([type, spec]) => [type, spec.data]),
) as { readonly [K in BuiltinEventType]: (typeof BUILTIN_EVENT_TABLE)[K]['data'] };

export type EventData<T extends BuiltinEventType> = z.input<(typeof BUILTIN_EVENT_TABLE)[T]['data']>;

export const BUILTIN_EVENT_TYPES = Object.keys(BUILTIN_EVENT_TABLE) as BuiltinEventType[];

export { isBuiltinEventType, type BuiltinEventType };

/** Event types whose envelope must carry the agent they are about. */
export function requiresAgentId(type: string): boolean {
  return builtinSpec(type)?.agent === 'required';
}

import * as z from 'zod';
import {
  BUILTIN_EVENT_TABLE,
  BUILTIN_EVENT_TYPES,
  builtinSpec,
  isBuiltinEventType,
  type BuiltinEventType,
} from './event-types.js';

type DataSchemaOf<K extends BuiltinEventType> = ReturnType<(typeof BUILTIN_EVENT_TABLE)[K]['data']>;

/** The `data` schemas of the built-in event types, built from BUILTIN_EVENT_TABLE when this loads. */
export const dataSchemas = Object.fromEntries(
  Object.entries(BUILTIN_EVENT_TABLE).map(([type, spec]) => [type, spec.data(z)]),
) as { readonly [K in BuiltinEventType]: DataSchemaOf<K> };

export type EventData<T extends BuiltinEventType> = z.input<DataSchemaOf<T>>;

export { BUILTIN_EVENT_TYPES, isBuiltinEventType, type BuiltinEventType };

/** Event types whose envelope must carry the agent they are about. */
export function requiresAgentId(type: string): boolean {
  return builtinSpec(type)?.agent === 'required';
}

import { AsyncLocalStorage } from 'node:async_hooks';

/** The correlation id in force for the current async context (set by `withCorrelation`). */
const storage = new AsyncLocalStorage<string>();

/**
 * Runs `fn` so that every event appended inside it, however deeply nested in async work, carries
 * `correlationId` unless the event names its own.
 */
export function withCorrelation<R>(correlationId: string, fn: () => R): R {
  return storage.run(correlationId, fn);
}

export function currentCorrelation(): string | undefined {
  return storage.getStore();
}

/**
 * One process 'exit' listener for all open buffered logs, registered when the first one opens and
 * removed when the last one closes, so importing the library registers nothing (issue 2).
 */
export interface SyncFlushable {
  flushOnExit(): void;
}

const open = new Set<SyncFlushable>();

function flushAll(): void {
  for (const log of open) log.flushOnExit();
}

export function registerExitFlush(log: SyncFlushable): void {
  if (open.size === 0) process.on('exit', flushAll);
  open.add(log);
}

export function unregisterExitFlush(log: SyncFlushable): void {
  if (!open.delete(log)) return;
  if (open.size === 0) process.off('exit', flushAll);
}

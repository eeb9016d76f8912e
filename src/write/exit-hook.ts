/**
 * What writes the events of open buffered logs when the process ends without close().
 *
 * While at least one buffered log is open there is one process 'exit' listener and one listener each
 * for SIGTERM, SIGINT and SIGHUP, shared by all open buffered logs: added when the first one opens,
 * removed when the last one closes. Importing the library, or having only fsync/write logs open,
 * changes no exit or signal behaviour (issue 2).
 *
 * 'exit' covers a normal end, process.exit() and an uncaught exception. Node's default action for
 * SIGTERM, SIGINT and SIGHUP ends the process without emitting 'exit', so on those signals the buffered
 * events are written and synced here; then, unless the program listens for that signal itself, our
 * listeners are removed and the signal is sent again, so the process ends by it as it would have
 * without the library (a parent sees `signal === 'SIGTERM'`). A program that listens for the signal
 * decides what happens next; whatever it appends afterwards is written by close() or by 'exit'.
 */
import os from 'node:os';

export interface SyncFlushable {
  flushOnExit(): void;
}

const SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

const open = new Set<SyncFlushable>();
let signalsHeld = false;

/** Writes and syncs every open buffered log; one log's failure does not keep the others unwritten. */
function flushAll(): void {
  let failure: { error: unknown } | undefined;
  for (const log of open) {
    try {
      log.flushOnExit();
    } catch (error) {
      // flushOnExit reports its own failures; only an `onError` that throws gets here.
      failure ??= { error };
    }
  }
  if (failure !== undefined) throw failure.error;
}

function onSignal(signal: NodeJS.Signals): void {
  try {
    flushAll();
  } finally {
    // Counted now, not when we registered: the program may have added (or removed) its own listener
    // since. Ours runs first (it is prepended), so a program's process.once listener is still counted.
    if (process.listenerCount(signal) <= 1 + signalExitListeners()) reraise(signal);
  }
}

/** Ends the process by `signal` with its default action, as it would have ended without us. */
function reraise(signal: NodeJS.Signals): void {
  releaseSignals();
  try {
    // Windows cannot send SIGHUP; SIGINT ends the process there the same way.
    process.kill(process.pid, process.platform === 'win32' && signal === 'SIGHUP' ? 'SIGINT' : signal);
  } catch {
    process.exit(128 + os.constants.signals[signal]);
  }
}

/**
 * The npm package signal-exit (used by many libraries) follows the same rule as we do: it sends the
 * signal again only when it finds no listener but its own. Each of its loaded copies adds one listener
 * per signal and counts itself: version 3 in `process.__signal_exit_emitter__.count`, version 4 in
 * `globalThis[Symbol.for('signal-exit emitter')].count`. Its listeners are not the program's: counting
 * them as such would leave each of us waiting for the other, and the process alive.
 */
function signalExitListeners(): number {
  const v3 = (process as { __signal_exit_emitter__?: { count?: unknown } }).__signal_exit_emitter__;
  const v4 = (globalThis as Record<symbol, { count?: unknown } | undefined>)[
    Symbol.for('signal-exit emitter')
  ];
  return countOf(v3) + countOf(v4);
}

function countOf(emitter: { count?: unknown } | undefined): number {
  const count = emitter?.count;
  return typeof count === 'number' && Number.isInteger(count) && count > 0 ? count : 0;
}

function holdSignals(): void {
  if (signalsHeld) return;
  signalsHeld = true;
  for (const signal of SIGNALS) process.prependListener(signal, onSignal);
}

function releaseSignals(): void {
  if (!signalsHeld) return;
  signalsHeld = false;
  for (const signal of SIGNALS) process.off(signal, onSignal);
}

export function registerExitFlush(log: SyncFlushable): void {
  if (open.size === 0) {
    process.on('exit', flushAll);
    holdSignals();
  }
  open.add(log);
}

export function unregisterExitFlush(log: SyncFlushable): void {
  if (!open.delete(log)) return;
  if (open.size === 0) {
    process.off('exit', flushAll);
    releaseSignals();
  }
}

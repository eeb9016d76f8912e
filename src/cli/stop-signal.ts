/**
 * Runs `work` with a signal that SIGINT (Ctrl-C) or SIGTERM aborts: a long-running command (tail -f,
 * ingest, collect) finishes what it has in hand and ends normally instead of being cut off.
 */
export async function untilStopped<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  try {
    return await work(stop.signal);
  } finally {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
  }
}

/**
 * Fault injection for the crash tests: `MMM_EVENTS_CRASH_AT=<point>` kills the process (SIGKILL, as a
 * power cut would stop it) when it reaches that point. Unset, this is a string comparison.
 */
export function crashPoint(name: string): void {
  if (process.env.MMM_EVENTS_CRASH_AT === name) process.kill(process.pid, 'SIGKILL');
}

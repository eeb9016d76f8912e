import type { Io } from './io.js';
import { packageVersion } from './version.js';

/**
 * Runs the CLI on `args` (without node and script) and returns the exit code; never exits itself.
 * `events --version` is answered here, before commander, chalk or any command is loaded: a script
 * that asks for it should not wait for them (docs/benchmarks.md, start-up).
 */
export async function main(args: string[], io: Io): Promise<number> {
  if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
    io.stdout.write(`${packageVersion()}\n`);
    return 0;
  }
  const { run } = await import('./run.js');
  return run(args, io);
}

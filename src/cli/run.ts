import { describeError, EXIT } from './exit-codes.js';
import { withFlagNames } from './flag-errors.js';
import { Output, drain, type Io } from './io.js';
import { createProgram } from './program.js';
import { visible, visibleLines } from './format/visible.js';

/** Runs the CLI on `args` (without node and script) and returns the exit code; never exits itself. */
export async function run(args: string[], io: Io): Promise<number> {
  const output = new Output(io);
  const program = await createProgram(output, args);
  let code: number = EXIT.ok;
  try {
    await program.parseAsync(args, { from: 'user' });
    code = process.exitCode === undefined ? EXIT.ok : Number(process.exitCode);
  } catch (err) {
    const described = describeError(withFlagNames(err));
    // A message may quote an argument or a file's content: no control character (not even a newline)
    // reaches the terminal; only an internal error's stack keeps its lines.
    if (described.message !== undefined) {
      const shown =
        described.code === EXIT.internal ? visibleLines(described.message) : visible(described.message);
      output.err(shown + '\n');
    }
    code = described.code;
  }
  await drain(io.stdout);
  // A write to a file fails on the next tick ('error' after the write returned): wait for it.
  await new Promise((resolve) => setImmediate(resolve));
  if (output.failure !== undefined && code === EXIT.ok) {
    output.err(visible(`events: cannot write to standard output: ${output.failure.message}`) + '\n');
    code = EXIT.io;
  }
  return code;
}

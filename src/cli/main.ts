import { describeError, EXIT } from './exit-codes.js';
import { withFlagNames } from './flag-errors.js';
import { Output, drain, type Io } from './io.js';
import { createProgram } from './program.js';
import { visibleLines } from './format/visible.js';

/** Runs the CLI on `args` (without node and script) and returns the exit code; never exits itself. */
export async function main(args: string[], io: Io): Promise<number> {
  const output = new Output(io);
  const program = await createProgram(output, args);
  let code: number = EXIT.ok;
  try {
    await program.parseAsync(args, { from: 'user' });
    code = process.exitCode === undefined ? EXIT.ok : Number(process.exitCode);
  } catch (err) {
    const described = describeError(withFlagNames(err));
    // A message may quote an argument or a file's content: no control character reaches the terminal.
    if (described.message !== undefined) output.err(visibleLines(described.message) + '\n');
    code = described.code;
  }
  await drain(io.stdout);
  return code;
}

import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import type { Output } from './io.js';
import { registerDemo } from './commands/demo.js';
import { registerQuery } from './commands/query.js';
import { registerJobs } from './commands/jobs.js';
import { registerTail } from './commands/tail.js';
import { registerExport } from './commands/export.js';
import { registerShow } from './commands/show.js';
import { registerIndex } from './commands/index.js';
import { registerRotate } from './commands/rotate.js';
import { registerPrune } from './commands/prune.js';
import { registerReplay } from './commands/replay.js';
import { registerStats } from './commands/stats.js';
import { registerErrors } from './commands/errors.js';
import { registerTrace } from './commands/trace.js';
import { registerTimeline } from './commands/timeline.js';
import { registerVerify } from './commands/verify.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

/** Builds the `events` program. Nothing here exits the process: errors surface as CommanderError. */
export function createProgram(output: Output): Command {
  const program = new Command('events')
    .description('Query, follow and maintain the mmm-events logs of parallel jobs')
    .version(pkg.version, '-V, --version')
    .option('--color', 'force colour output')
    .option('--no-color', 'no colour, whatever the terminal')
    .addHelpText(
      'after',
      '\nExit codes: 0 ok, 1 internal error, 2 usage, 3 not found, 4 data or integrity, 5 I/O, 6 busy, 130 interrupted.\nThe log is found by --dir, $MMM_EVENTS_DIR, or the nearest .mmm/mapreduce/events above the current directory.',
    )
    .showSuggestionAfterError()
    .exitOverride()
    .configureOutput({
      writeOut: (text) => output.out(text),
      writeErr: (text) => output.err(text),
    })
    .hook('preAction', (thisCommand) => {
      const color = thisCommand.opts<{ color?: boolean }>().color;
      output.setColor(color);
    });
  registerDemo(program, output);
  registerQuery(program, output);
  registerTail(program, output);
  registerExport(program, output);
  registerShow(program, output);
  registerIndex(program, output);
  registerRotate(program, output);
  registerPrune(program, output);
  registerJobs(program, output);
  registerReplay(program, output);
  registerStats(program, output);
  registerErrors(program, output);
  registerTrace(program, output);
  registerTimeline(program, output);
  registerVerify(program, output);
  // Subcommands inherit the error handling of the program.
  for (const command of program.commands) {
    command.exitOverride().configureOutput(program.configureOutput());
  }
  return program;
}

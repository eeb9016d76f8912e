import { Command } from 'commander';
import type { Output } from './io.js';
import { visibleMessage } from './format/visible.js';
import { COMMANDS, type CommandEntry } from './command-table.js';
import { packageVersion } from './version.js';

/** The program's own flags, which may come before the command's name. */
const PROGRAM_FLAGS = new Set(['--color', '--no-color']);

/**
 * The entry `args` runs (or asks help for: `events help stats`), or none for `events --help`,
 * `--version` or an unknown name; only that command's module is loaded.
 */
function entryOf(args: readonly string[]): CommandEntry | undefined {
  let i = 0;
  while (i < args.length && PROGRAM_FLAGS.has(args[i] ?? '')) i++;
  let name = args[i];
  if (name === 'help') name = args[i + 1];
  return COMMANDS.find((c) => c.name === name || c.aliases?.includes(name ?? '') === true);
}

/**
 * Builds the `events` program for `args`, loading only the command they name; without `args`, every
 * command (for tests and completion). Nothing here exits the process: errors surface as CommanderError.
 */
export async function createProgram(output: Output, args?: readonly string[]): Promise<Command> {
  const program = new Command('events')
    .description('Query, follow and maintain the mmm-events logs of parallel jobs')
    .version(packageVersion(), '-V, --version')
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
      // Commander quotes the arguments it refuses: made visible, as every message is (one line each).
      writeErr: (text) => output.err(visibleMessage(text)),
    })
    // Every command has options, loaded or not: the listing says so for all alike.
    .configureHelp({
      subcommandTerm: (cmd) =>
        [
          cmd.name() +
            cmd
              .aliases()
              .map((a) => `|${a}`)
              .join(''),
          '[options]',
          ...cmd.registeredArguments.map(usageOf),
        ].join(' '),
    })
    .hook('preAction', (thisCommand) => {
      const color = thisCommand.opts<{ color?: boolean }>().color;
      output.setColor(color);
    });
  const running = args === undefined ? undefined : entryOf(args);
  for (const entry of COMMANDS) {
    const command = program.command(entry.name).description(entry.summary);
    for (const alias of entry.aliases ?? []) command.alias(alias);
    for (const [usage, description] of entry.args ?? []) command.argument(usage, description);
    // Subcommands inherit the error handling of the program.
    command.exitOverride().configureOutput(program.configureOutput());
    if (args === undefined || entry === running) (await entry.load()).configure(command, output);
  }
  return program;
}

function usageOf(argument: { name(): string; required: boolean; variadic: boolean }): string {
  const name = argument.name() + (argument.variadic ? '...' : '');
  return argument.required ? `<${name}>` : `[${name}]`;
}

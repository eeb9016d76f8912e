import type { Command } from 'commander';
import { EXPORT_FORMATS, exportEvents, type ExportFormat, type ExportResult } from '../../export/export.js';
import { writeFileAtomicFrom } from '../../storage/fsutil.js';
import { locateEventsDir } from '../../read/locate.js';
import { addFilterOptions, toFilter, type FilterFlags } from '../filter-options.js';
import { drain, type Output } from '../io.js';
import { choiceArg, dirOption } from '../options.js';
import { reportSkipped } from '../report-skipped.js';

export interface ExportFlags extends FilterFlags {
  dir?: string;
  format: ExportFormat;
  output?: string;
}

export function configure(command: Command, output: Output): void {
  command
    .addOption(dirOption())
    .option(
      '--format <format>',
      `${EXPORT_FORMATS.join(', ')} (csv: envelope columns plus one per data field)`,
      choiceArg('--format', EXPORT_FORMATS),
      'jsonl',
    )
    .option('--output <file>', 'write to this file, atomically (whole or not at all), instead of stdout');
  addFilterOptions(command).action(async (flags: ExportFlags) => {
    await runExport(flags, output);
  });
}

export async function runExport(flags: ExportFlags, output: Output): Promise<ExportResult> {
  const options = {
    dir: locateEventsDir({ dir: flags.dir, env: output.io.env, need: 'log' }),
    ...toFilter(flags),
  };
  let result: ExportResult;
  if (flags.output === undefined) {
    result = await exportEvents(options, flags.format, async (text) => {
      if (!output.out(text)) await drain(output.io.stdout);
      return !output.closed;
    });
  } else {
    result = await writeFileAtomicFrom(flags.output, (write) =>
      exportEvents(options, flags.format, async (text) => {
        await write(text);
        return true;
      }),
    );
    output.err(`wrote ${result.events} events to ${flags.output}\n`);
  }
  reportSkipped(result.stats, output);
  return result;
}

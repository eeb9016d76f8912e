import type { Command } from 'commander';
import { runDemo, type DemoResult } from '../../demo/run.js';
import type { Durability } from '../../write/writer.js';
import { formatDemoResult } from '../format/demo.js';
import type { Output } from '../io.js';
import { dirOption, durabilityOption, integerArg, numberArg, resolveDir } from '../options.js';

export interface DemoCommandOptions {
  dir?: string;
  job?: string;
  agents: number;
  items: number;
  failRate: number;
  seed?: number;
  speed: number;
  durability: Durability;
  echo: boolean;
  json?: boolean;
}

export function configure(command: Command, output: Output): void {
  command
    .addOption(dirOption())
    .option('--job <id>', 'job id (default: demo-<date>-<time>-<random>)')
    .option('--agents <n>', 'agents working in parallel', integerArg('--agents', 1, 256), 4)
    .option('--items <n>', 'work items', integerArg('--items', 1, 100_000), 24)
    .option('--fail-rate <r>', 'chance that an attempt fails, 0 to 1', numberArg('--fail-rate', 0, 1), 0.15)
    .option(
      '--seed <n>',
      'random seed; the same seed writes the same events (default: random)',
      integerArg('--seed', 0, 2 ** 32 - 1),
    )
    .option(
      '--speed <x>',
      'playback speed; 0 runs as fast as the disk allows',
      numberArg('--speed', 0, 1_000_000),
      1,
    )
    .addOption(durabilityOption())
    .option('--echo', 'print every event as it is written', false)
    .option('--json', 'print the summary as JSON')
    .action(async (opts: DemoCommandOptions) => {
      const result = await runDemoCommand(opts, output);
      output.out(
        opts.json === true ? JSON.stringify(result, null, 2) + '\n' : formatDemoResult(result, output.chalk),
      );
    });
}

export function runDemoCommand(opts: DemoCommandOptions, output: Output): Promise<DemoResult> {
  return runDemo({
    dir: resolveDir(opts.dir, output.io.env),
    jobId: opts.job,
    agents: opts.agents,
    items: opts.items,
    failRate: opts.failRate,
    seed: opts.seed,
    speed: opts.speed,
    durability: opts.durability,
    echo: opts.echo ? { format: 'pretty', stream: output.io.stdout } : undefined,
  });
}

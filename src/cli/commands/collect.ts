import type { Command } from 'commander';
import { DataError } from '../../format/errors.js';
import { collect, type CollectNotice, type CollectResult } from '../../nats/collector.js';
import { visible } from '../format/visible.js';
import type { Output } from '../io.js';
import { addNatsOptions, natsOf, type NatsFlags } from '../nats-options.js';
import { dirOption, integerArg, resolveDir } from '../options.js';
import { untilStopped } from '../stop-signal.js';

export interface CollectFlags extends NatsFlags {
  dir?: string;
  job?: string;
  durable?: string;
  natsStream?: string;
  replicas?: number;
  maxBytes?: number;
}

export function configure(command: Command, output: Output): void {
  addNatsOptions(command, true)
    .addOption(dirOption())
    .option('--job <id>', 'collect only this job (default: every job)')
    .option(
      '--durable <name>',
      'the durable consumer: a restarted collector resumes it (default: mmm-events-collector)',
    )
    .option('--nats-stream <name>', 'the JetStream stream, created when missing (default: MMM_EVENTS)')
    .option(
      '--replicas <n>',
      'when creating the stream: its replicas (3 in a cluster)',
      integerArg('--replicas', 1, 5),
    )
    .option(
      '--max-bytes <n>',
      'when creating the stream: its size limit; when full, publishes are refused (default: none)',
      integerArg('--max-bytes', 1, Number.MAX_SAFE_INTEGER),
    )
    .addHelpText(
      'after',
      '\nAppends the events agents publish to JetStream (events emit/ingest --nats, RemoteEventLog) to the local log,\none local stream per remote stream, acknowledging each message once it is durable here. Runs until SIGINT or SIGTERM.\nExit 0 when stopped, 4 when some messages were refused (not events of their subject), 5 when the disk or NATS failed.',
    )
    .action(async (flags: CollectFlags) => {
      await runCollect(flags, output);
    });
}

export async function runCollect(flags: CollectFlags, output: Output): Promise<CollectResult> {
  const result = await untilStopped((signal) =>
    collect({
      dir: resolveDir(flags.dir, output.io.env),
      nats: natsOf(flags) as NonNullable<ReturnType<typeof natsOf>>,
      jobId: flags.job,
      subjectPrefix: flags.subjectPrefix,
      natsStream: flags.natsStream,
      replicas: flags.replicas,
      maxBytes: flags.maxBytes,
      durable: flags.durable,
      signal,
      onNotice: (notice) => output.err(noticeLine(notice)),
    }),
  );
  const refused = result.refused === 0 ? '' : `, ${result.refused} refused`;
  output.err(`collected ${result.collected} events (${result.duplicates} already in the log${refused})\n`);
  if (result.refused > 0) {
    throw new DataError(`${result.refused} messages refused: not events of their job and stream`);
  }
  return result;
}

function noticeLine(notice: CollectNotice): string {
  switch (notice.kind) {
    case 'stream':
      return `collecting ${visible(notice.jobId)}/${visible(notice.stream)} from seq ${notice.from}\n`;
    case 'waiting':
      return `waiting for NATS: ${visible(notice.reason)}\n`;
    case 'refused':
      return `warning: refused a message on ${visible(notice.subject)}: ${visible(notice.reason)}\n`;
  }
}

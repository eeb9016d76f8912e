import type { Command } from 'commander';
import { DataError, InvalidArgumentError } from '../../format/errors.js';
import { ingest, type IngestLog, type IngestResult } from '../../ingest/ingest.js';
import { EventLog, type Durability } from '../../write/writer.js';
import { drain, type Output } from '../io.js';
import { untilStopped } from '../stop-signal.js';
import { addNatsOptions, natsOf, type NatsFlags } from '../nats-options.js';
import { dirOption, durabilityOption, numberArg, resolveDir } from '../options.js';

export interface IngestFlags extends NatsFlags {
  dir?: string;
  job: string;
  stream?: string;
  durability: Durability;
  wait: number;
}

export function configure(command: Command, output: Output): void {
  command
    .requiredOption('--job <id>', 'the job (its log is created if needed)')
    .addOption(dirOption())
    .option(
      '--stream <name>',
      'the stream (default: main; while a running writer holds main, the stream of a killed ingest of this host, else <host>-<pid>)',
    )
    .addOption(durabilityOption())
    .option(
      '--wait <seconds>',
      'with --stream: how long to wait while another writer holds it',
      numberArg('--wait', 0, 3600),
      0,
    );
  addNatsOptions(command)
    .addHelpText(
      'after',
      '\nReads events as JSON lines on stdin ({"event_type": ..., "data": ..., "agent_id": ...}, as append() takes them)\nand prints one acknowledgement per line, in order: {"line":n,"seq":s,"id":...,"stream":...} once durable, {"line":n,"error":...}\nfor a refused line (reading goes on). EOF or SIGTERM: what was read is written and acknowledged, then it exits.\nWith --nats, each line is acknowledged once JetStream has it (events collect writes it to the log).\nExit 0 when every line was written, 4 when some were refused, 5 when the disk or NATS failed.',
    )
    .action(async (flags: IngestFlags) => {
      await runIngest(flags, output);
    });
}

export async function runIngest(flags: IngestFlags, output: Output): Promise<IngestResult> {
  const stdin = output.io.stdin;
  if (stdin === undefined)
    throw new InvalidArgumentError('events ingest reads standard input, and there is none');
  const log = await openLog(flags, output);
  let result: IngestResult;
  try {
    result = await untilStopped((signal) =>
      ingest(
        log,
        stdin,
        async (acks) => {
          // A reader that went away (`| head`) ends the acknowledgements, not the ingest (EPIPE is absorbed);
          // acknowledgements that cannot be written (a full disk) stop it: nobody would learn what was written.
          if (!output.out(acks)) await drain(output.io.stdout);
          if (output.failure !== undefined) throw output.failure;
        },
        { signal },
      ),
    );
  } finally {
    // Whatever is left in the pipe is not read: let the process end without it.
    stdin.destroy();
    await log.close();
  }
  if (result.failure !== undefined) throw result.failure;
  if (result.refused > 0) {
    throw new DataError(`${result.refused} of ${result.lines} lines refused; their acknowledgements say why`);
  }
  return result;
}

/** The local log, or with --nats a remote writer (the same appendMany() and close()). */
async function openLog(flags: IngestFlags, output: Output): Promise<IngestLog> {
  const nats = natsOf(flags);
  if (nats !== undefined) {
    const { RemoteEventLog } = await import('../../nats/remote-log.js');
    return RemoteEventLog.open({
      jobId: flags.job,
      stream: flags.stream,
      nats,
      subjectPrefix: flags.subjectPrefix,
    });
  }
  return EventLog.open({
    jobId: flags.job,
    dir: resolveDir(flags.dir, output.io.env),
    stream: flags.stream,
    durability: flags.durability,
    streamWaitMs: flags.wait * 1000,
  });
}

import type { Command } from 'commander';
import { emitEvent } from '../../ingest/emit.js';
import type { EventInput } from '../../format/schema/input.js';
import type { Receipt, Durability } from '../../write/writer.js';
import { eventData } from '../field-assignments.js';
import type { Output } from '../io.js';
import { addNatsOptions, natsOf, type NatsFlags } from '../nats-options.js';
import { choiceArg, dirOption, durabilityOption, numberArg, resolveDir } from '../options.js';
import { SEVERITIES } from '../../format/schema/envelope.js';

export interface EmitFlags extends NatsFlags {
  dir?: string;
  job: string;
  stream?: string;
  agent?: string;
  correlation?: string;
  severity?: string;
  id?: string;
  data?: string;
  durability: Durability;
  wait: number;
  json?: boolean;
}

export function configure(command: Command, output: Output): void {
  command
    .requiredOption('--job <id>', 'the job (its log is created if needed)')
    .addOption(dirOption())
    .option('--stream <name>', 'the stream (default: main, or "emit" while a running writer holds main)')
    .option('--agent <id>', 'agent_id (required by agent_* events)')
    .option('--correlation <id>', 'correlation_id (default: the job id)')
    .option(
      '--severity <level>',
      `${SEVERITIES.join(', ')} (default: the type's)`,
      choiceArg('--severity', SEVERITIES),
    )
    .option('--id <id>', 'the event id; an id already in the stream is not written again (safe retries)')
    .option('--data <json>', 'data as JSON; name=value fields add to it')
    .addOption(durabilityOption())
    .option(
      '--wait <seconds>',
      'how long to wait while another writer holds the stream',
      numberArg('--wait', 0, 3600),
      10,
    )
    .option('--json', 'print the receipt (seq, id, ts, stream) as JSON');
  addNatsOptions(command)
    .addHelpText(
      'after',
      '\nFields: n=3 is a number, ok=true a boolean, s=abc a string, x:=\'{"a":1}\' raw JSON, code==007 always a string.\nExits 0 once the event is durable (with --durability fsync, the default; with --nats, once JetStream acknowledged it,\nin the stream emit-<host> unless --stream names one); 2 naming the field for an invalid event; 5 when NATS or the disk failed.',
    )
    .action(async (type: string, fields: string[], flags: EmitFlags) => {
      const receipt = await runEmit(type, fields, flags, output);
      if (flags.json === true) output.out(JSON.stringify({ job: flags.job, ...receipt }) + '\n');
    });
}

export async function runEmit(
  type: string,
  fields: string[],
  flags: EmitFlags,
  output: Output,
): Promise<Receipt> {
  const event: Record<string, unknown> = { event_type: type };
  const data = eventData(flags.data, fields);
  if (data !== undefined) event.data = data;
  if (flags.agent !== undefined) event.agent_id = flags.agent;
  if (flags.correlation !== undefined) event.correlation_id = flags.correlation;
  if (flags.severity !== undefined) event.severity = flags.severity;
  if (flags.id !== undefined) event.id = flags.id;
  const nats = natsOf(flags);
  if (nats !== undefined) {
    const { emitRemote } = await import('../../nats/remote-emit.js');
    return emitRemote(
      { jobId: flags.job, stream: flags.stream, nats, subjectPrefix: flags.subjectPrefix },
      event as unknown as EventInput,
    );
  }
  return emitEvent(
    {
      jobId: flags.job,
      dir: resolveDir(flags.dir, output.io.env),
      stream: flags.stream,
      durability: flags.durability,
      waitMs: flags.wait * 1000,
    },
    event as unknown as EventInput,
  );
}

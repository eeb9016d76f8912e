import { Option, type Command } from 'commander';
import type { NatsOptions } from '../nats/connection.js';
import { splitList } from './options.js';

/** The NATS flags of emit, ingest and collect (docs/deployment.md): secrets only from the environment. */
export interface NatsFlags {
  nats?: string;
  natsUser?: string;
  natsCreds?: string;
  natsCa?: string;
  natsCert?: string;
  natsKey?: string;
  subjectPrefix?: string;
}

export function addNatsOptions(command: Command, required = false): Command {
  const servers = new Option(
    '--nats <urls>',
    required
      ? 'the NATS servers (a comma list), such as nats://10.0.0.5:4222'
      : 'publish to JetStream at these NATS servers (a comma list) instead of writing a local log',
  );
  return command
    .addOption(required ? servers.makeOptionMandatory() : servers)
    .option('--nats-user <name>', 'the NATS user (password: $NATS_PASSWORD, or the file $NATS_PASSWORD_FILE)')
    .option('--nats-creds <file>', 'a NATS .creds file (default: $NATS_CREDS)')
    .option('--nats-ca <file>', "the CA of the servers' TLS certificates (default: $NATS_CA)")
    .option('--nats-cert <file>', 'a client certificate, for servers that verify clients')
    .option('--nats-key <file>', "the client certificate's key")
    .option('--subject-prefix <prefix>', 'the subjects are <prefix>.<job>.<stream> (default: mmm.events)');
}

/** The connection the flags name, or undefined without --nats. */
export function natsOf(flags: NatsFlags): NatsOptions | undefined {
  if (flags.nats === undefined) return undefined;
  return {
    servers: splitList(flags.nats),
    user: flags.natsUser,
    credsFile: flags.natsCreds,
    caFile: flags.natsCa,
    certFile: flags.natsCert,
    keyFile: flags.natsKey,
  };
}

import fs from 'node:fs';
import {
  connect,
  credsAuthenticator,
  tokenAuthenticator,
  usernamePasswordAuthenticator,
  type NatsConnection,
  type NodeConnectionOptions,
} from '@nats-io/transport-node';

import { errnoCode, InvalidArgumentError, RemoteError, toError } from '../format/errors.js';

/**
 * How to reach NATS (docs/deployment.md, Security). Secrets are never options of their own on a
 * command line: a password or token comes from a file or the environment, a creds file by its path,
 * and none of them is ever printed (errors name the servers without user info).
 */
export interface NatsOptions {
  /** One URL or several (a cluster), such as nats://10.0.0.5:4222; tls:// for TLS. */
  servers: string | string[];
  user?: string;
  /** The user's password; default $NATS_PASSWORD, or the file $NATS_PASSWORD_FILE names. */
  pass?: string;
  /** A token instead of a user; default $NATS_TOKEN, or the file $NATS_TOKEN_FILE names. */
  token?: string;
  /** A `.creds` file (a user JWT and its nkey seed), as `nsc` writes it; default $NATS_CREDS. */
  credsFile?: string;
  /** The CA that signed the servers' certificates (TLS); default $NATS_CA. */
  caFile?: string;
  /** A client certificate and key, for servers that verify clients (mutual TLS). */
  certFile?: string;
  keyFile?: string;
  /** The connection's name in the server's monitoring. */
  name?: string;
}

/** The servers as they may be shown: without any user info a URL carries. */
export function serversShown(servers: string | string[]): string {
  return (Array.isArray(servers) ? servers : [servers]).map(withoutUserInfo).join(',');
}

/** A secret from the option, else the environment variable, else the file the `_FILE` variable names. */
function secret(given: string | undefined, env: NodeJS.ProcessEnv, name: string): string | undefined {
  if (given !== undefined) return given;
  if (env[name] !== undefined && env[name] !== '') return env[name];
  const file = env[`${name}_FILE`];
  if (file === undefined || file === '') return undefined;
  return readSecretFile(file, `$${name}_FILE`).trim();
}

function readSecretFile(file: string, what: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new InvalidArgumentError(`cannot read ${what} (${file}): ${(err as NodeJS.ErrnoException).code}`);
  }
}

/** The client's options: authentication and TLS from `options` and the environment. */
export function connectionOptions(
  options: NatsOptions,
  env: NodeJS.ProcessEnv = process.env,
): NodeConnectionOptions {
  const servers = options.servers;
  if ((Array.isArray(servers) ? servers : [servers]).some((s) => typeof s !== 'string' || s === '')) {
    throw new InvalidArgumentError('nats servers must be URLs such as nats://127.0.0.1:4222');
  }
  const creds = options.credsFile ?? env.NATS_CREDS;
  const token = secret(options.token, env, 'NATS_TOKEN');
  const user = options.user ?? env.NATS_USER;
  const authenticator =
    creds !== undefined && creds !== ''
      ? credsAuthenticator(new TextEncoder().encode(readSecretFile(creds, 'the NATS creds file')))
      : user !== undefined && user !== ''
        ? usernamePasswordAuthenticator(user, secret(options.pass, env, 'NATS_PASSWORD') ?? '')
        : token !== undefined
          ? tokenAuthenticator(token)
          : undefined;
  const caFile = options.caFile ?? env.NATS_CA;
  const tlsWanted = caFile !== undefined || options.certFile !== undefined;
  return {
    servers,
    name: options.name,
    ...(authenticator === undefined ? {} : { authenticator }),
    ...(tlsWanted ? { tls: { caFile, certFile: options.certFile, keyFile: options.keyFile } } : {}),
    // Keep trying for ever: a restarted server is waited for, and what is pending is sent again.
    reconnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    waitOnFirstConnect: false,
  };
}

/** Connects, or throws a RemoteError naming the servers (never a secret). */
export async function connectNats(options: NatsOptions): Promise<NatsConnection> {
  const settings = connectionOptions(options);
  try {
    return await connect(settings);
  } catch (err) {
    const error = new RemoteError(
      `cannot connect to NATS at ${serversShown(options.servers)}: ${messageOf(err)}`,
      {
        cause: err,
        hint: 'check the URL, that nats-server runs with -js, and the credentials',
      },
    );
    // A server down or restarting refuses the connection or does not answer; anything else (its
    // authorization, a certificate) stays so however long one waits.
    const said = `${String(err)} ${String((err as { cause?: unknown }).cause)} ${errnoCode(err)}`;
    error.lasting = !/refused|ECONNRESET|EHOSTUNREACH|ENETUNREACH|timeout/i.test(said);
    throw error;
  }
}

/** An error's message without user info a URL in it may carry. */
export function messageOf(err: unknown): string {
  return withoutUserInfo(toError(err).message);
}

/** Text with the user info of every URL in it (`nats://user:pass@host`) taken out. */
function withoutUserInfo(text: string): string {
  return text.replace(/\/\/[^@/\s]*@/g, '//');
}

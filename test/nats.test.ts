import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { encodeAccount, encodeOperator, encodeUser, fmtCreds } from '@nats-io/jwt';
import { createAccount, createOperator, createUser } from '@nats-io/nkeys';
import { readEvents, RemoteError, type EventRecord } from '../src/index.js';
import { RemoteEventLog } from '../src/nats/index.js';
import { defaultStreamSettings, streamConfigOf } from '../src/nats/stream-settings.js';
import {
  assertVerifies,
  fillUp,
  LiveCli,
  progressEvent,
  queryRecords,
  runCli,
  tempDir,
  withTinyFilesystem,
} from './helpers.js';
import { NatsServer } from './nats-server.js';

/** Resolves once `job` holds `count` events in `dir` (polling the log as `events query` reads it). */
async function collected(
  dir: string,
  job: string,
  count: number,
  timeoutMs = 30_000,
): Promise<EventRecord[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const records: EventRecord[] = [];
    try {
      for await (const { record } of readEvents({ dir, jobs: [job] })) records.push(record);
    } catch {
      // the job is not there yet
    }
    if (records.length >= count || Date.now() > deadline) return records;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Resolves once `condition` holds (polled), or rejects after `timeoutMs`. */
async function until(condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function startCollector(
  server: NatsServer,
  dir: string,
  extra: string[] = [],
  env: NodeJS.ProcessEnv = {},
): LiveCli {
  return new LiveCli(['collect', '--nats', server.url, '--dir', dir, ...extra], { env });
}

describe('events through NATS JetStream', () => {
  it('ingest --nats and emit --nats acknowledge once JetStream has the event; collect writes each once, with its receipt', async () => {
    const server = await NatsServer.start();
    const dir = tempDir();
    const collector = startCollector(server, dir);
    const lines = Array.from({ length: 300 }, (_, i) => JSON.stringify(progressEvent(i)));
    lines.splice(150, 0, '{"event_type":"agent_progress","data":{}}');
    const ingest = await runCli(['ingest', '--nats', server.url, '--job', 'far.job'], {
      input: lines.join('\n') + '\n',
    });
    assert.equal(ingest.code, 4, ingest.stderr);
    const acks = ingest.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(acks.length, 301);
    assert.match(String(acks[150]?.error), /agent_id/);
    const receipts = acks.filter((a) => a.seq !== undefined);
    // seq in a remote receipt is JetStream's: increasing, as the events were stored.
    assert.deepEqual(
      receipts.map((a) => a.seq),
      Array.from({ length: 300 }, (_, i) => i + 1),
    );

    const emits = [];
    for (const n of [1, 2]) {
      const emit = await runCli([
        'emit',
        '--nats',
        server.url,
        '--job',
        'far.job',
        'deploy_step',
        `n=${n}`,
        '--json',
      ]);
      assert.equal(emit.code, 0, emit.stderr);
      emits.push(JSON.parse(emit.stdout) as { seq: number; id: string; ts: string; stream: string });
    }
    assert.match(emits[0]?.stream ?? '', /^emit-/);
    assert.equal(emits[1]?.stream, emits[0]?.stream, 'emits of one host go to one stream');

    const records = await collected(dir, 'far.job', 302);
    assert.equal(records.length, 302);
    const byId = new Map(records.map((r) => [r.id, r]));
    for (const receipt of [...receipts, ...emits] as {
      seq: number;
      id: string;
      stream: string;
      ts?: string;
    }[]) {
      const record = byId.get(receipt.id);
      assert.ok(record !== undefined, `${receipt.id} collected`);
      assert.equal(record.stream, receipt.stream);
      if (receipt.ts !== undefined) assert.equal(record.ts, receipt.ts);
    }
    assert.deepEqual(
      records.filter((r) => r.event_type === 'deploy_step').map((r) => [r.seq, r.data]),
      [
        [1, { n: 1 }],
        [2, { n: 2 }],
      ],
    );
    // The ingested lines in their order, seq from 1 in their stream.
    assert.deepEqual(
      records.filter((r) => r.event_type === 'agent_progress').map((r) => [r.seq, r.id]),
      receipts.map((a, i) => [i + 1, a.id]),
    );
    collector.kill('SIGTERM');
    const exit = await collector.exited;
    assert.equal(exit.code, 0, collector.stderr);
    assert.match(collector.stderr, /collected 302 events \(0 already in the log\)/);
    await assertVerifies(dir);
  });

  for (const retention of [RetentionPolicy.Limits, RetentionPolicy.Workqueue]) {
    it(`a collector SIGKILLed mid-stream and restarted writes every acknowledged event exactly once, in order (${retention} retention)`, async () => {
      const server = await NatsServer.start();
      const dir = tempDir();
      if (retention === RetentionPolicy.Workqueue) {
        const nc = await connect({ servers: server.url });
        const settings = { ...streamConfigOf(defaultStreamSettings('mmm.events')), retention };
        await (await jetstreamManager(nc)).streams.add(settings);
        await nc.close();
      }
      const log = await RemoteEventLog.open({ jobId: 'k', nats: { servers: server.url } });
      const publishing = log.appendMany(
        Array.from({ length: 6000 }, (_, i) => progressEvent(i, `agent-${i % 3}`)),
      );
      for (let round = 0; round < 4; round++) {
        const collector = startCollector(server, dir);
        await new Promise((resolve) => setTimeout(resolve, 400 + round * 150));
        collector.kill('SIGKILL');
        await collector.exited;
      }
      const outcomes = await publishing;
      await log.close();
      assert.ok(outcomes.every((o) => !(o instanceof Error)));
      const last = startCollector(server, dir);
      const records = await collected(dir, 'k', 6000);
      last.kill('SIGTERM');
      await last.exited;
      assert.deepEqual(
        records.map((r) => r.seq),
        Array.from({ length: 6000 }, (_, i) => i + 1),
      );
      assert.deepEqual(
        records.map((r) => r.id),
        outcomes.map((o) => (o as { id: string }).id),
      );
      await assertVerifies(dir);
    });
  }

  it('an agent SIGKILLed mid-stream: every line it acknowledged is collected once; tail -f and jobs show the job live', async () => {
    const server = await NatsServer.start();
    const dir = tempDir();
    const tail = new LiveCli(['tail', '--dir', dir, '-f', '--json']);
    const collector = startCollector(server, dir);
    const agent = new LiveCli(['ingest', '--nats', server.url, '--job', 'live'], { stdin: true });
    const ids = Array.from({ length: 20_000 }, (_, i) => `ev-${i}`);
    void agent
      .write(ids.map((id, i) => JSON.stringify({ ...progressEvent(i), id })).join('\n') + '\n')
      .catch(() => undefined);
    await agent.waitForLines(2000, 30_000);
    agent.kill('SIGKILL');
    await agent.exited;
    const acknowledged = agent.lines
      .filter((l) => l.endsWith('}'))
      .map((l) => (JSON.parse(l) as { line: number }).line);
    const records = await collected(dir, 'live', acknowledged.length);
    const written = new Set(records.map((r) => r.id));
    assert.equal(written.size, records.length, 'no event written twice');
    for (const line of acknowledged)
      assert.ok(written.has(`ev-${line - 1}`), `line ${line} acknowledged, not collected`);
    const printed = await tail.waitForLines(records.length, 30_000);
    assert.equal((JSON.parse(printed[0] as string) as { job_id: string }).job_id, 'live');
    const jobs = await runCli(['jobs', '--dir', dir]);
    // The collector goes on with what the agent published and never saw acknowledged: at least these.
    const shown = /live +│ running .*│ (\d+) +│/.exec(jobs.stdout);
    assert.ok(shown !== null, jobs.stdout);
    assert.ok(Number(shown[1]) >= records.length, jobs.stdout);
    collector.kill('SIGTERM');
    tail.kill('SIGTERM');
    await Promise.all([collector.exited, tail.exited]);
    await assertVerifies(dir);
  });

  it('refuses and counts a message that is not an event of its subject, and writes nothing of it', async () => {
    const server = await NatsServer.start();
    const dir = tempDir();
    const collector = startCollector(server, dir);
    await collected(dir, 'none', 0, 500);
    const good = await RemoteEventLog.open({ jobId: 'a', stream: 's', nats: { servers: server.url } });
    await good.append({ event_type: 'deploy_step', data: { ok: true } });
    await good.close();
    const nc = await connect({ servers: server.url });
    const js = jetstream(nc);
    const forged = {
      seq: 2,
      ts: '2026-11-24T00:00:00.000000Z',
      id: 'x1',
      job_id: 'b\u001b[31m',
      stream: 's',
      event_type: 'deploy_step',
      severity: 'info',
      correlation_id: 'b',
      data: {},
    };
    await js.publish('mmm.events.a.s', JSON.stringify(forged));
    await js.publish('mmm.events.a.s', 'not json \u001b[31m');
    await js.publish('mmm.events.a.t.u', JSON.stringify({ ...forged, job_id: 'a' }));
    await nc.close();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    collector.kill('SIGTERM');
    const exit = await collector.exited;
    assert.equal(exit.code, 4, collector.stderr);
    assert.match(
      collector.stderr,
      /refused a message on mmm\.events\.a\.s: an event of b\\u001b\[31m\/s on the subject of a\/s/,
    );
    assert.match(collector.stderr, /refused a message on mmm\.events\.a\.s: not JSON/);
    assert.match(collector.stderr, /collected 1 events \(0 already in the log, 3 refused\)/);
    assert.ok(!collector.stderr.includes('\u001b'), 'no raw escape reaches the terminal');
    const records = await queryRecords(dir, 'a');
    assert.deepEqual(
      records.map((r) => r.data),
      [{ ok: true }],
    );
    assert.deepEqual(
      fs.readdirSync(dir).filter((f) => f.startsWith('b')),
      [],
      'no job b was created',
    );
  });

  it('refuses a JetStream stream whose settings would lose events', async () => {
    const server = await NatsServer.start();
    const nc = await connect({ servers: server.url });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'MMM_EVENTS', subjects: ['mmm.events.>'], storage: StorageType.Memory });
    await nc.close();
    const run = await runCli(['collect', '--nats', server.url, '--dir', tempDir()]);
    assert.equal(run.code, 4);
    assert.match(
      run.stderr,
      /JetStream stream MMM_EVENTS would lose events: memory storage loses every event/,
    );
  });

  it('with a user and password from the environment; a wrong one exits 5 without printing it', async () => {
    const server = await NatsServer.start('authorization { user: agent, password: "s3cret-pw" }\n');
    const dir = tempDir();
    const wrong = await runCli(
      ['emit', '--nats', server.url, '--nats-user', 'agent', '--job', 'j', 'deploy_step'],
      {
        env: { NATS_PASSWORD: 'wrong-pw' },
      },
    );
    assert.equal(wrong.code, 5);
    assert.match(wrong.stderr, /cannot connect to NATS at nats:\/\/127\.0\.0\.1:\d+: .*auth/i);
    assert.doesNotMatch(wrong.stderr + wrong.stdout, /wrong-pw|s3cret/);
    const env = { NATS_PASSWORD: 's3cret-pw' };
    const collector = startCollector(server, dir, ['--nats-user', 'agent'], env);
    const emit = await runCli(
      ['emit', '--nats', server.url, '--nats-user', 'agent', '--job', 'j', 'deploy_step'],
      {
        env,
      },
    );
    assert.equal(emit.code, 0, emit.stderr);
    assert.equal((await collected(dir, 'j', 1)).length, 1);
    collector.kill('SIGTERM');
    await collector.exited;
    assert.doesNotMatch(collector.stderr, /s3cret/);
  });

  it('writers may share a named stream; an id sent again is stored and written once', async () => {
    const server = await NatsServer.start();
    const dir = tempDir();
    const nats = { servers: server.url };
    const first = await RemoteEventLog.open({ jobId: 'n', stream: 'runner', nats });
    const second = await RemoteEventLog.open({ jobId: 'n', stream: 'runner', nats });
    const a = await first.append({ event_type: 'deploy_step', id: 'step-1', data: { by: 'first' } });
    const b = await second.append({ event_type: 'deploy_step', data: { by: 'second' } });
    const again = await second.append({ event_type: 'deploy_step', id: 'step-1', data: { by: 'first' } });
    assert.deepEqual(again, a, 'the repeat is acknowledged as the event JetStream already has');
    await first.close();
    await second.close();
    const emit = [
      'emit',
      '--nats',
      server.url,
      '--job',
      'n',
      '--stream',
      'runner',
      'deploy_step',
      '--id',
      'step-1',
    ];
    assert.equal((await runCli(emit)).code, 0);
    const collector = startCollector(server, dir);
    const records = await collected(dir, 'n', 2);
    await new Promise((resolve) => setTimeout(resolve, 500));
    collector.kill('SIGTERM');
    await collector.exited;
    assert.deepEqual(
      records.map((r) => [r.seq, r.stream, r.id, r.data]),
      [
        [1, 'runner', 'step-1', { by: 'first' }],
        [2, 'runner', b.id, { by: 'second' }],
      ],
    );
  });

  it('appends across a server restart are retried, never dropped; the collector reconnects', async () => {
    const server = await NatsServer.start();
    const dir = tempDir();
    const collector = startCollector(server, dir);
    const log = await RemoteEventLog.open({ jobId: 'r', nats: { servers: server.url }, retryForMs: 30_000 });
    const receipts: Promise<unknown>[] = [];
    for (let i = 0; i < 3000; i++) {
      receipts.push(log.append(progressEvent(i)));
      // The restart comes once the collector is collecting: it must reconnect, not start late.
      if (i === 1000) await until(() => collector.stderr.includes('collecting r/'));
      if (i === 1000) void server.restart();
      if (i % 100 === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const settled = await Promise.allSettled(receipts);
    const failed = settled.filter((s) => s.status === 'rejected');
    for (const f of failed) assert.ok((f as PromiseRejectedResult).reason instanceof RemoteError);
    const acked = settled.filter((s) => s.status === 'fulfilled').length;
    await log.close();
    const records = await collected(dir, 'r', acked);
    assert.ok(records.length >= acked, `${records.length} collected of ${acked} acknowledged`);
    assert.deepEqual(
      records.map((r) => r.seq),
      Array.from({ length: records.length }, (_, i) => i + 1),
    );
    collector.kill('SIGTERM');
    await collector.exited;
    await assertVerifies(dir);
  });

  it('a collector started while NATS is down waits for it, saying so once', async () => {
    const server = await NatsServer.start();
    await server.stop();
    const dir = tempDir();
    const collector = startCollector(server, dir);
    await until(() => collector.stderr.includes('waiting for NATS'));
    await server.run();
    const emit = await runCli(['emit', '--nats', server.url, '--job', 'late', 'deploy_step']);
    assert.equal(emit.code, 0, emit.stderr);
    assert.equal((await collected(dir, 'late', 1)).length, 1);
    collector.kill('SIGTERM');
    assert.equal((await collector.exited).code, 0, collector.stderr);
    assert.equal(collector.stderr.match(/waiting for NATS/g)?.length, 1);
  });

  it('a consumer restart cut between its delete and its re-creation resumes from the noted start', async () => {
    const server = await NatsServer.start();
    const dir = tempDir();
    const log = await RemoteEventLog.open({ jobId: 'cut', nats: { servers: server.url } });
    await log.appendMany(Array.from({ length: 100 }, (_, i) => progressEvent(i)));
    const first = startCollector(server, dir);
    await collected(dir, 'cut', 100);
    first.kill('SIGTERM');
    await first.exited;
    const rest = await log.appendMany(Array.from({ length: 50 }, (_, i) => progressEvent(100 + i)));
    await log.close();
    // What a collector killed after deleting its consumer to restart it leaves: the note, no consumer.
    const start = (rest[0] as { seq: number }).seq;
    fs.mkdirSync(path.join(dir, 'global'), { recursive: true });
    const note = path.join(dir, 'global', 'collect-mmm-events-collector.json');
    fs.writeFileSync(
      note,
      JSON.stringify({ stream: 'MMM_EVENTS', durable: 'mmm-events-collector', start_seq: start }),
    );
    const nc = await connect({ servers: server.url });
    await (await jetstreamManager(nc)).consumers.delete('MMM_EVENTS', 'mmm-events-collector');
    await nc.close();
    const second = startCollector(server, dir);
    assert.equal((await collected(dir, 'cut', 150)).length, 150);
    second.kill('SIGTERM');
    assert.equal((await second.exited).code, 0, second.stderr);
    assert.match(second.stderr, /collected 50 events \(0 already in the log\)/, 'nothing delivered again');
    assert.equal(fs.existsSync(note), false, 'the note is removed once the consumer is back');
  });

  it("the collector's disk full: it stops without acknowledging; restarted with room, it writes everything once", async () => {
    const server = await NatsServer.start();
    await withTinyFilesystem('2m', async (dir) => {
      const nats = { servers: server.url };
      const log = await RemoteEventLog.open({ jobId: 'full', nats });
      const first = await log.appendMany(Array.from({ length: 100 }, (_, i) => progressEvent(i)));
      const collector = startCollector(server, dir);
      assert.equal((await collected(dir, 'full', 100)).length, 100);
      const filler = fillUp(dir);
      const rest = await log.appendMany(Array.from({ length: 400 }, (_, i) => progressEvent(100 + i)));
      await log.close();
      const exit = await collector.exited;
      assert.equal(exit.code, 5, collector.stderr);
      assert.match(collector.stderr, /ENOSPC/);
      fs.rmSync(filler);
      const again = startCollector(server, dir);
      const records = await collected(dir, 'full', 500);
      again.kill('SIGTERM');
      assert.equal((await again.exited).code, 0, again.stderr);
      assert.deepEqual(
        records.map((r) => r.id),
        [...first, ...rest].map((o) => (o as { id: string }).id),
      );
      await assertVerifies(dir);
    });
  });

  it("with a .creds file (a user JWT of an operator-mode account): collected; another account's is refused", async () => {
    const creds = await makeOperator();
    const server = await NatsServer.start(creds.config);
    const dir = tempDir();
    const stranger = await runCli([
      'emit',
      '--nats',
      server.url,
      '--nats-creds',
      creds.stranger,
      '--job',
      'c',
      'deploy_step',
    ]);
    assert.equal(stranger.code, 5, stranger.stderr);
    assert.match(stranger.stderr, /cannot connect to NATS/);
    assert.doesNotMatch(stranger.stderr, /SUA[A-Z0-9]{20}/, 'no nkey seed is printed');
    const collector = startCollector(server, dir, ['--nats-creds', creds.user]);
    const emit = await runCli(['emit', '--nats', server.url, '--job', 'c', 'deploy_step', 'n=1'], {
      env: { NATS_CREDS: creds.user },
    });
    assert.equal(emit.code, 0, emit.stderr);
    assert.deepEqual(
      (await collected(dir, 'c', 1)).map((r) => r.data),
      [{ n: 1 }],
    );
    collector.kill('SIGTERM');
    assert.equal((await collector.exited).code, 0, collector.stderr);
  });

  it("over TLS with the servers' CA; without it the connection is refused, exit 5", async () => {
    const certs = makeCertificates();
    const server = await NatsServer.start(
      `tls { cert_file: "${certs.cert}", key_file: "${certs.key}", timeout: 5 }\n`,
    );
    const url = `tls://127.0.0.1:${server.port}`;
    const untrusted = await runCli(['emit', '--nats', url, '--job', 't', 'deploy_step']);
    assert.equal(untrusted.code, 5, untrusted.stderr);
    assert.match(untrusted.stderr, /cannot connect to NATS at tls:\/\/127\.0\.0\.1/);
    const dir = tempDir();
    const collector = startCollector(server, dir, ['--nats-ca', certs.ca]);
    const emit = await runCli([
      'emit',
      '--nats',
      url,
      '--nats-ca',
      certs.ca,
      '--job',
      't',
      'deploy_step',
      'n=1',
    ]);
    assert.equal(emit.code, 0, emit.stderr);
    assert.deepEqual(
      (await collected(dir, 't', 1)).map((r) => r.data),
      [{ n: 1 }],
    );
    collector.kill('SIGTERM');
    await collector.exited;
  });
});

/** A CA and a server certificate for 127.0.0.1 it signed, made with openssl in a temp dir. */
function makeCertificates(): { ca: string; cert: string; key: string } {
  const dir = tempDir('mmm-nats-tls-');
  const file = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=test CA',
    '-keyout',
    file('ca-key.pem'),
    '-out',
    file('ca.pem'),
  );
  openssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    '/CN=127.0.0.1',
    '-keyout',
    file('key.pem'),
    '-out',
    file('req.pem'),
  );
  // nats.js checks a certificate reached by an IP address against the name localhost (it sends no
  // server name for an IP): the certificate names both.
  fs.writeFileSync(file('ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl(
    'x509',
    '-req',
    '-in',
    file('req.pem'),
    '-CA',
    file('ca.pem'),
    '-CAkey',
    file('ca-key.pem'),
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    file('ext.cnf'),
    '-out',
    file('cert.pem'),
  );
  return { ca: file('ca.pem'), cert: file('cert.pem'), key: file('key.pem') };
}

/**
 * An operator-mode server configuration (accounts preloaded, JetStream enabled for the account) and
 * two .creds files: a user of that account, and a user of an account the server does not know.
 */
async function makeOperator(): Promise<{ config: string; user: string; stranger: string }> {
  const dir = tempDir('mmm-nats-creds-');
  const operator = createOperator();
  const system = createAccount();
  const account = createAccount();
  const unlimited = {
    ...{ conn: -1, subs: -1, data: -1, payload: -1, imports: -1, exports: -1, leaf: -1, wildcards: true },
    ...{ disk_storage: -1, mem_storage: -1, streams: -1, consumer: -1 },
  };
  const operatorJwt = await encodeOperator('OP', operator, { system_account: system.getPublicKey() });
  const systemJwt = await encodeAccount('SYS', system, {}, { signer: operator });
  const accountJwt = await encodeAccount('A', account, { limits: unlimited }, { signer: operator });
  const userCreds = (acct: ReturnType<typeof createAccount>) => {
    const user = createUser();
    return encodeUser('U', user, acct).then((jwt) => fmtCreds(jwt, user));
  };
  fs.writeFileSync(path.join(dir, 'op.jwt'), operatorJwt);
  fs.writeFileSync(path.join(dir, 'user.creds'), await userCreds(account));
  fs.writeFileSync(path.join(dir, 'stranger.creds'), await userCreds(createAccount()));
  const config = [
    `operator: ${path.join(dir, 'op.jwt')}`,
    `system_account: ${system.getPublicKey()}`,
    'resolver: MEMORY',
    `resolver_preload: {\n ${account.getPublicKey()}: ${accountJwt}\n ${system.getPublicKey()}: ${systemJwt}\n}`,
  ].join('\n');
  return { config, user: path.join(dir, 'user.creds'), stranger: path.join(dir, 'stranger.creds') };
}

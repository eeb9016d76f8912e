import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
// The built library, the code `bin/events.js` runs.
import { EventLog } from '../dist/index.js';
import { machine, median, ROOT, writeSection } from './report.js';

/**
 * `npm run bench -- nats` (issue 14): events acknowledged by JetStream per agent process (`events
 * ingest --nats`), one agent alone and four at once, and events collected into the local log per
 * second (`events collect` on the backlog), beside a local appendMany() in the same run. A fresh
 * `nats-server -js` (Debian's, on a free loopback port, a temp store) for each run. `NATS_EVENTS`
 * sets the events per agent (50,000).
 */
const RUNS = 3;
const BIN = path.join(ROOT, 'bin', 'events.js');

const event = (i: number) =>
  JSON.stringify({
    event_type: 'agent_progress',
    agent_id: `agent-${i % 64}`,
    data: { item_id: `item-${i}`, step: 'build', progress_pct: 50 },
  });

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function startServer(): Promise<{ url: string; stop: () => Promise<void> }> {
  const port = await freePort();
  const store = fs.mkdtempSync(path.join(os.tmpdir(), 'mmm-bench-nats-'));
  const bin = ['/usr/sbin/nats-server', '/usr/bin/nats-server'].find((p) => fs.existsSync(p));
  if (bin === undefined) throw new Error('nats-server is not installed: apt-get install -y nats-server');
  const child: ChildProcess = spawn(bin, ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', store], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (log += d));
  while (!log.includes('Server is ready')) {
    if (child.exitCode !== null) throw new Error(`nats-server did not start: ${log}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return {
    url: `nats://127.0.0.1:${port}`,
    stop: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      fs.rmSync(store, { recursive: true, force: true });
    },
  };
}

/** One agent: `events ingest --nats` fed `count` events; seconds from spawn to exit, all acknowledged. */
async function agent(
  url: string,
  job: string,
  stream: string,
  input: string,
  count: number,
): Promise<number> {
  const started = process.hrtime.bigint();
  const child = spawn(BIN, ['ingest', '--nats', url, '--job', job, '--stream', stream], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let acks = 0;
  child.stdout.on('data', (chunk: Buffer) => {
    for (let i = chunk.indexOf(0x0a); i !== -1; i = chunk.indexOf(0x0a, i + 1)) acks++;
  });
  child.stdin.end(input);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0 || acks !== count)
    throw new Error(`events ingest --nats exited ${code} with ${acks} of ${count} acks`);
  return Number(process.hrtime.bigint() - started) / 1e9;
}

/** `events collect` over a backlog of `count` events: seconds until JetStream has none left to deliver or ack. */
async function collector(url: string, count: number): Promise<number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mmm-bench-collect-'));
  const nc = await connect({ servers: url });
  const jsm = await jetstreamManager(nc);
  const started = process.hrtime.bigint();
  const child = spawn(BIN, ['collect', '--nats', url, '--dir', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  try {
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      if (child.exitCode !== null) throw new Error(`events collect exited ${child.exitCode}: ${stderr}`);
      const info = await jsm.consumers.info('MMM_EVENTS', 'mmm-events-collector').catch(() => undefined);
      if (
        info !== undefined &&
        info.num_pending === 0 &&
        info.num_ack_pending === 0 &&
        info.delivered.stream_seq >= count
      )
        break;
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    child.kill('SIGTERM');
    await new Promise((resolve) => child.on('close', resolve));
    if (!stderr.includes(`collected ${count} events`)) throw new Error(`events collect: ${stderr}`);
    return seconds;
  } finally {
    await nc.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** appendMany() in this process, fsync, groups of 1,000, into a fresh local log. */
async function localAppend(count: number): Promise<number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mmm-bench-local-'));
  const started = process.hrtime.bigint();
  const log = await EventLog.open({ dir, jobId: 'bench' });
  for (let at = 0; at < count; at += 1000) {
    const events = Array.from(
      { length: Math.min(1000, count - at) },
      (_, k) => JSON.parse(event(at + k)) as object,
    );
    for (const outcome of await log.appendMany(events as never)) if (outcome instanceof Error) throw outcome;
  }
  await log.close();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  fs.rmSync(dir, { recursive: true, force: true });
  return seconds;
}

export async function benchNats(): Promise<void> {
  const count = Number(process.env.NATS_EVENTS ?? 50_000);
  const input = Array.from({ length: count }, (_, i) => event(i) + '\n').join('');
  const one: number[] = [];
  const four: number[][] = [];
  const collected: number[] = [];
  const local: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const server = await startServer();
    try {
      one.push(count / (await agent(server.url, 'one', 'a', input, count)));
      const times = await Promise.all(
        [0, 1, 2, 3].map((a) => agent(server.url, 'four', `a${a}`, input, count)),
      );
      four.push(times.map((t) => count / t));
      collected.push((5 * count) / (await collector(server.url, 5 * count)));
    } finally {
      await server.stop();
    }
    local.push(count / (await localAppend(count)));
    process.stderr.write(
      `  run ${run + 1}: one agent ${Math.round(one.at(-1) ?? 0)}/s, collected ${Math.round(collected.at(-1) ?? 0)}/s, local ${Math.round(local.at(-1) ?? 0)}/s\n`,
    );
  }
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  const localRate = median(local);
  const perAgentOfFour = median(four.map((rates) => median(rates)));
  const totalOfFour = median(four.map((rates) => rates.reduce((a, b) => a + b, 0)));
  const rows: [string, string, number][] = [
    ['one agent: `events ingest --nats`', 'spawn to exit, every line acknowledged by JetStream', median(one)],
    ['four agents at once, each', 'the same, four processes at once (median agent)', perAgentOfFour],
    ['four agents at once, together', "the sum of the four agents' rates", totalOfFour],
    [
      '`events collect` into the local log',
      `start to the consumer having nothing pending or unacknowledged, over the ${fmt(5 * count)}-event backlog`,
      median(collected),
    ],
    [
      'local appendMany(), fsync, groups of 1,000',
      '`open()` to `close()` in the benchmark process',
      localRate,
    ],
  ];
  const markdown = `
## NATS JetStream (issue 14)

Command: \`npm run bench -- nats\` (\`NATS_EVENTS\` sets the events per agent). Machine: ${machine()}, Debian's nats-server 2.9 on loopback with its store on the same disk. Measured ${new Date().toISOString().slice(0, 10)}.

${fmt(count)} \`agent_progress\` events per agent (about ${Math.round(input.length / count)} bytes of JSON each). Each run starts a fresh \`nats-server -js\`, runs one agent, then four at once (other job, four streams), then \`events collect\` over the ${fmt(5 * count)} events they left in JetStream (into a fresh directory, fsync), then stops the server and runs the local appendMany() of the same ${fmt(count)} events. Agent times include node start-up and connecting. Medians of ${RUNS} runs.

| measured | what the time covers | events/s | vs local appendMany() |
|---|---|---:|---:|
${rows.map(([name, what, r]) => `| ${name} | ${what} | ${fmt(r)} | ${(r / localRate).toFixed(2)}× |`).join('\n')}
`;
  process.stdout.write(markdown);
  writeSection('nats', markdown);
}

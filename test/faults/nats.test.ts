import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { readEvents } from '../../src/index.js';
import { assertVerifies, LiveCli, progressEvent, tempDir } from '../helpers.js';
import { NatsServer } from '../nats-server.js';

const AGENTS = 4;
const EVENTS = Number(process.env.MMM_NATS_EVENTS ?? 20_000);
const COLLECTOR_KILLS = 20;

/** The id of event `i` of agent `a`: the test knows every id it will see acknowledged. */
const idOf = (a: number, i: number) => `a${a}-e${i}`;

describe('fault: agents through JetStream', () => {
  it(`${AGENTS} agent processes × ${EVENTS} events; the collector SIGKILLed ${COLLECTOR_KILLS} times and the server restarted once`, async () => {
    const server = await NatsServer.start();
    const dir = tempDir();
    const agents = Array.from({ length: AGENTS }, (_, a) => {
      const agent = new LiveCli(['ingest', '--nats', server.url, '--job', 'far', '--stream', `agent-${a}`], {
        stdin: true,
      });
      const input = Array.from({ length: EVENTS }, (_, i) =>
        JSON.stringify({ ...progressEvent(i, `agent-${a}`), id: idOf(a, i) }),
      );
      // Written in slices, so that publishing goes on while the collector is killed and the server restarts.
      void (async () => {
        for (let at = 0; at < EVENTS; at += 500) {
          await agent.write(input.slice(at, at + 500).join('\n') + '\n');
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        agent.endInput();
      })();
      return agent;
    });
    for (let kill = 0; kill < COLLECTOR_KILLS; kill++) {
      const collector = new LiveCli(['collect', '--nats', server.url, '--dir', dir]);
      await new Promise((resolve) => setTimeout(resolve, 300 + Math.random() * 900));
      if (kill === COLLECTOR_KILLS / 2) await server.restart();
      collector.kill('SIGKILL');
      await collector.exited;
    }
    const acknowledged = new Set<string>();
    for (const [a, agent] of agents.entries()) {
      const exit = await agent.exited;
      assert.equal(exit.code, 0, `agent ${a}: ${agent.stderr}`);
      for (const line of agent.lines) {
        const ack = JSON.parse(line) as { line: number; seq?: number; error?: string };
        assert.equal(ack.error, undefined, `agent ${a} line ${ack.line}: ${ack.error}`);
        acknowledged.add(idOf(a, ack.line - 1));
      }
    }
    assert.equal(acknowledged.size, AGENTS * EVENTS);

    const final = new LiveCli(['collect', '--nats', server.url, '--dir', dir]);
    const seen = new Map<string, number>();
    const deadline = Date.now() + 120_000;
    while (seen.size < acknowledged.size && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      seen.clear();
      if (final.stderr.length > 0 && !final.stderr.includes('collecting')) throw new Error(final.stderr);
      if (!fs.existsSync(path.join(dir, 'far'))) continue;
      for await (const { record } of readEvents({ dir, jobs: ['far'] }))
        seen.set(record.id, (seen.get(record.id) ?? 0) + 1);
    }
    final.kill('SIGTERM');
    assert.equal((await final.exited).code, 0, final.stderr);
    const missing = [...acknowledged].filter((id) => !seen.has(id));
    assert.deepEqual(missing.slice(0, 5), [], `${missing.length} acknowledged events not collected`);
    const twice = [...seen].filter(([, n]) => n > 1);
    assert.deepEqual(twice.slice(0, 5), [], `${twice.length} events written more than once`);
    // Each stream in the order JetStream stored its events (the receipts' seq), seq from 1.
    const storedAt = new Map<string, number>();
    for (const [a, agent] of agents.entries()) {
      for (const line of agent.lines) {
        const ack = JSON.parse(line) as { line: number; seq: number };
        storedAt.set(idOf(a, ack.line - 1), ack.seq);
      }
    }
    const last = new Map<string, { seq: number; stored: number }>();
    for await (const { record } of readEvents({ dir, jobs: ['far'] })) {
      const before = last.get(record.stream) ?? { seq: 0, stored: 0 };
      const stored = storedAt.get(record.id) as number;
      assert.equal(record.seq, before.seq + 1);
      assert.ok(stored > before.stored, `${record.id} written after one JetStream stored later`);
      last.set(record.stream, { seq: record.seq, stored });
    }
    await assertVerifies(dir);
  });
});

// Test child: opens a log, appends events, awaits every receipt, prints "ready", then waits for a signal.
// usage: node buffered-signal.mjs <dir> <count> <durability> <flushMs|default> <scenario>
// scenario:
//   wait         wait forever (the test sends a signal)
//   handler      after opening the log, install a SIGTERM handler that prints "handled <lines on disk>"
//                and exits 0 a little later
//   once-before  the same handler with process.once, installed before the log is opened
//   throw        throw an uncaught exception after "ready"
//   reject       leave a rejected promise unhandled after "ready"
//   exit         call process.exit(3) after "ready"
//   flush-more   append <count>, await log.flush(), then append <count> more (unwritten) before "ready"
//   signal-exit  after opening the log, listen for SIGTERM the way the npm package signal-exit (v4) does:
//                count itself in globalThis[Symbol.for('signal-exit emitter')], and on the signal, when
//                no other listener is left, print "signal-exit", remove itself and send the signal again
import fs from 'node:fs';
import path from 'node:path';
import { setInterval, setTimeout } from 'node:timers';
import { EventLog } from '../../dist/index.js';

const [dir, countArg, durability, flushArg, scenario] = process.argv.slice(2);
const jobId = 'job-signal';
const count = Number(countArg);
const flushMs = flushArg === 'default' ? undefined : Number(flushArg);

function linesOnDisk() {
  const jobDir = path.join(dir, jobId);
  let lines = 0;
  for (const name of fs.readdirSync(jobDir)) {
    if (!/^events-.+\.jsonl$/.test(name)) continue;
    for (const byte of fs.readFileSync(path.join(jobDir, name))) if (byte === 10) lines++;
  }
  return lines;
}

function onTerm() {
  process.stdout.write(`handled ${linesOnDisk()}\n`);
  setTimeout(() => process.exit(0), 50);
}

if (scenario === 'once-before') process.once('SIGTERM', onTerm);
const log = await EventLog.open({ dir, jobId, durability, flushMs });
if (scenario === 'handler') process.on('SIGTERM', onTerm);
if (scenario === 'signal-exit') {
  const emitter = (globalThis[Symbol.for('signal-exit emitter')] ??= { count: 0 });
  emitter.count += 1;
  const listener = () => {
    if (process.listeners('SIGTERM').length !== emitter.count) return;
    process.stdout.write('signal-exit\n');
    process.off('SIGTERM', listener);
    emitter.count -= 1;
    process.kill(process.pid, 'SIGTERM');
  };
  process.on('SIGTERM', listener);
}

const appendAll = (from) =>
  Promise.all(
    Array.from({ length: count }, (_, i) =>
      log.append({
        event_type: 'agent_progress',
        agent_id: 'agent-1',
        data: { item_id: `item-${from + i}`, step: `step ${from + i}`, progress_pct: i % 101 },
      }),
    ),
  );
await appendAll(0);
if (scenario === 'flush-more') {
  await log.flush();
  await appendAll(count);
}
process.stdout.write('ready\n');

if (scenario === 'throw') {
  setTimeout(() => {
    throw new Error('boom');
  }, 10);
} else if (scenario === 'reject') {
  setTimeout(() => void Promise.reject(new Error('boom')), 10);
} else if (scenario === 'exit') {
  process.exit(3);
}
setInterval(() => {}, 1 << 30);

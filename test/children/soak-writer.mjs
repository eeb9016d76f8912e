// Test child for the maintenance soak: opens jobs from a small pool again and again (finishing some,
// leaving some unfinished, reopening finished ones, reusing ids once prune removed them), and prints
// "ack <id>" for every acknowledged append, until the stop file exists.
// usage: node soak-writer.mjs <dir> <stopFile> <seed>
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { EventLog } from '../../dist/index.js';

const [dir, stopFile, seedArg] = process.argv.slice(2);
let seed = Number(seedArg) || 1;
const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
const jobs = ['nightly', 'etl', 'batch'];
const ack = (receipt) => process.stdout.write(`ack ${receipt.id}\n`);

while (!fs.existsSync(stopFile)) {
  const jobId = jobs[Math.floor(random() * jobs.length)];
  let log;
  try {
    log = await EventLog.open({ dir, jobId, rotateBytes: 16384, indexBlockBytes: 2048 });
    ack(await log.append({ event_type: 'job_started', data: { config: {}, total_items: 10 } }));
    const events = 5 + Math.floor(random() * 30);
    for (let i = 0; i < events; i++) {
      ack(
        await log.append({
          event_type: 'agent_progress',
          agent_id: `agent-${i % 4}`,
          data: { item_id: `item-${i}`, step: `step ${i} ${'x'.repeat(i * 3)}`, progress_pct: i % 101 },
        }),
      );
    }
    if (random() < 0.7) {
      ack(
        await log.append({
          event_type: 'job_completed',
          data: { duration_ms: events, success_count: events, failure_count: 0 },
        }),
      );
    }
  } catch (err) {
    process.stderr.write(`ERROR ${jobId}: ${err?.stack ?? err}\n`);
  } finally {
    await log?.close().catch((err) => process.stderr.write(`ERROR close ${jobId}: ${err?.stack ?? err}\n`));
  }
  await sleep(50 + random() * 150);
}

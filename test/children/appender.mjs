// Test child: appends events and prints "ack <seq> <id>" for every acknowledged append.
// usage: node appender.mjs <dir> <jobId> <durability> <count|forever> <producers> [exit|close]
// env APPENDER_ROTATE_BYTES: the writer's rotateBytes (default: the library's)
import { EventLog } from '../../dist/index.js';

const [dir, jobId, durability, countArg, producersArg, ending = 'close'] = process.argv.slice(2);
const count = countArg === 'forever' ? Infinity : Number(countArg);
const rotateBytes = Number(process.env.APPENDER_ROTATE_BYTES) || undefined;
const log = await EventLog.open({ dir, jobId, durability, rotateBytes });
process.stdout.write(`stream ${log.stream}\n`);
let next = 0;
await Promise.all(
  Array.from({ length: Number(producersArg) }, async (_, p) => {
    while (next < count) {
      const i = next++;
      const receipt = await log.append({
        event_type: 'agent_progress',
        agent_id: `agent-${p}`,
        data: { item_id: `item-${i}`, step: `step ${i} ${'x'.repeat(i % 300)}`, progress_pct: i % 101 },
      });
      process.stdout.write(`ack ${receipt.seq} ${receipt.id}\n`);
    }
  }),
);
// "exit" leaves buffered events to the exit hook; "close" closes the log properly.
if (ending === 'close') await log.close();

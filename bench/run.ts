import { benchIngest } from './ingest.js';
import { benchNats } from './nats.js';
import { benchQuery } from './query.js';
import { benchTail } from './tail.js';
import { benchSegments } from './segments.js';
import { benchScan } from './scan.js';
import { benchStartup } from './startup.js';
import { benchStats } from './stats.js';
import { benchWrite } from './write.js';

/** `npm run bench [-- NAME...]`: runs the named benchmarks (all by default), never part of `npm test`. */
const benches: Record<string, () => Promise<void>> = {
  write: benchWrite,
  query: benchQuery,
  tail: benchTail,
  segments: benchSegments,
  stats: benchStats,
  ingest: benchIngest,
  nats: benchNats,
  startup: benchStartup,
  scan: benchScan,
};
const wanted = process.argv.slice(2);
for (const name of wanted.length > 0 ? wanted : Object.keys(benches)) {
  const bench = benches[name];
  if (bench === undefined) {
    process.stderr.write(`unknown benchmark ${name}; choose from ${Object.keys(benches).join(', ')}\n`);
    process.exitCode = 2;
    break;
  }
  await bench();
}

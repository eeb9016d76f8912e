import type { ChalkInstance } from 'chalk';
import path from 'node:path';
import type { DemoResult } from '../../demo/run.js';
import { DEFAULT_EVENTS_DIR } from '../../format/paths.js';
import { duration } from '../../format/summary.js';
import { humanBytes } from '../../format/truncate.js';

/** The closing summary of `events demo`: where the log is and what is in it. */
export function formatDemoResult(result: DemoResult, chalk: ChalkInstance): string {
  const { plan, log } = result;
  const types = Object.entries(log.byType).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const count = (type: string) => log.byType[type] ?? 0;
  const outcome = result.outcome === 'completed' ? chalk.green('completed') : chalk.red('failed');
  const chainOk = log.streams.every((s) => s.chainBreaks === 0) && log.corrupt === 0;
  const lines = [
    `Job ${chalk.bold(plan.jobId)} ${outcome}: ${result.succeeded} of ${plan.items} items succeeded, ${result.failed} failed, on ${plan.agents} agents (seed ${plan.seed})`,
    `  agents: ${count('agent_completed')} completed, ${count('agent_failed')} failed, ${count('agent_retrying')} retried; ${count('checkpoint_created')} checkpoints`,
    `  log:    ${log.events} events, ${humanBytes(log.bytes)}, ${log.streams.length} stream(s), written in ${duration(result.elapsedMs)}`,
    `  chain:  ${chainOk ? chalk.green('intact') : chalk.red('BROKEN')} (seq contiguous and every prev hash matches, ${log.corrupt} corrupt lines)`,
    `  events: ${types.map(([type, n]) => `${type} ${n}`).join(', ')}`,
    `  path:   ${displayPath(log.jobDir)}${path.sep}`,
  ];
  for (const stream of log.streams) {
    lines.push(`  head of stream ${stream.stream}: seq ${stream.lastSeq ?? 0}, hash ${stream.head}`);
  }
  const dirFlag =
    path.dirname(log.jobDir) === path.resolve(DEFAULT_EVENTS_DIR)
      ? ''
      : ` --dir ${displayPath(path.dirname(log.jobDir))}`;
  lines.push(`Look at it: events query${dirFlag} --job ${plan.jobId} --kind AgentFailed -o pretty`);
  return lines.join('\n') + '\n';
}

/** Relative to the current directory when the log is below it, absolute otherwise. */
function displayPath(dir: string): string {
  const relative = path.relative(process.cwd(), dir);
  return relative.startsWith('..') || path.isAbsolute(relative) ? dir : relative;
}

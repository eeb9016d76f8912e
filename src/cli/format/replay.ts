import type { ChalkInstance } from 'chalk';
import type { JobState } from '../../insight/replay.js';
import { duration } from '../../format/summary.js';
import { displayTime, type FormatContext } from './event.js';
import { plainTable } from './table.js';
import { visible } from './visible.js';

/**
 * `events replay`: a summary of the state, then the agents and the items that failed. Ids and errors
 * come from the events: they are escaped (`visible`).
 */
export function formatJobState(state: JobState, ctx: FormatContext): string {
  const { chalk } = ctx;
  const c = state.counts;
  const total = state.totalItems ?? c.pending + c.active + c.completed + c.failed + c.retrying;
  const phase =
    state.phase === 'completed'
      ? chalk.green(state.phase)
      : state.phase === 'failed'
        ? chalk.red(state.phase)
        : chalk.yellow(state.phase.replace('_', ' '));
  const at = (ts: string | undefined) => (ts === undefined ? '-' : displayTime(ts, ctx.utc));
  const last = state.lastEvent;
  const lines = [
    `Job ${chalk.bold(visible(state.job ?? '?'))}: ${phase}; ${c.completed} of ${total} items completed, ${c.failed} failed, ${c.active} active, ${c.retrying} waiting to retry, ${c.pending} pending; ${Object.keys(state.agents).length} agents`,
    `  from ${at(state.startedAt)} to ${at(last?.ts)}${state.endedAt === undefined ? '' : ` (ended)`}; ${state.eventsApplied} events replayed${state.unknownEvents > 0 ? `, ${state.unknownEvents} of custom types skipped` : ''}`,
    `  last event: ${last === undefined ? '-' : visible(`${last.stream}:${last.seq} ${last.eventType}`)}`,
    `  checkpoints: ${state.checkpoints.length}${state.checkpoints.length > 0 ? ` (last v${state.checkpoints.at(-1)?.version ?? ''} at ${at(state.checkpoints.at(-1)?.at)})` : ''}; pauses: ${state.pauses.length}`,
    `  peak queue: ${state.maxQueue.pending} pending, ${state.maxQueue.active} active; peak memory: ${state.maxMemory === undefined ? '-' : `${state.maxMemory.usedMb} of ${state.maxMemory.limitMb} MB`}`,
  ];
  if (state.reported !== undefined) {
    lines.push(
      `  job_completed reported: ${state.reported.successCount} succeeded, ${state.reported.failureCount} failed, in ${duration(state.reported.durationMs)}`,
    );
  }
  if (state.failure !== undefined) {
    lines.push(
      `  job_failed reported: ${state.failure.partialResults} partial results; error: ${visible(state.failure.error)}`,
    );
  }
  lines.push(
    state.anomalies.length === 0
      ? '  anomalies: none'
      : chalk.yellow(`  anomalies: ${state.anomalies.length}`) +
          state.anomalies
            .slice(0, 20)
            .map((a) => `\n    ${visible(`${a.stream}:${a.seq} ${a.eventType}: ${a.problem}`)}`)
            .join(''),
  );
  lines.push(...agentAndItemTables(state, chalk));
  return lines.join('\n') + '\n';
}

/** The agents, and the items that failed, as tables (each after a blank line); none when empty. */
function agentAndItemTables(state: JobState, chalk: ChalkInstance): string[] {
  const out: string[] = [];
  const agents = Object.values(state.agents).sort((a, b) => (a.agent < b.agent ? -1 : 1));
  if (agents.length > 0) {
    const table = plainTable(
      ['agent', 'status', 'item', 'attempts', 'completed', 'failed', 'busy', 'last error'],
      chalk,
      {
        wordWrap: true,
      },
    );
    for (const a of agents) {
      table.push([
        visible(a.agent),
        a.status,
        visible(a.currentItem ?? ''),
        a.attempts,
        a.completed,
        a.failed,
        duration(a.busyMs),
        visible(a.lastError ?? ''),
      ]);
    }
    out.push('', table.toString());
  }
  const failed = Object.values(state.items).filter((i) => i.status === 'failed');
  if (failed.length > 0) {
    const table = plainTable(['failed item', 'attempts', 'agent', 'last error'], chalk, { wordWrap: true });
    for (const i of failed)
      table.push([visible(i.item), i.attempts, visible(i.agent ?? ''), visible(i.lastError ?? '')]);
    out.push('', table.toString());
  }
  return out;
}

/** `events replay --step`: what one event changed, in one line. */
export function formatStepChange(state: JobState): string {
  const c = state.counts;
  return `    → ${state.phase.replace('_', ' ')}; completed ${c.completed}, failed ${c.failed}, active ${c.active}, retrying ${c.retrying}, pending ${c.pending}`;
}

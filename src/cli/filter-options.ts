import type { Command } from 'commander';
import { checkKinds, eventTypesInLog } from '../read/event-type.js';
import { locateEventsDir } from '../read/locate.js';
import { parseTimeArg } from '../format/time-parse.js';
import type { EventFilter } from '../read/filter.js';
import { SEVERITIES, type Severity } from '../format/schema/envelope.js';
import { choiceArg, collect, collectEach, jobsOption } from './options.js';

export interface FilterFlags extends WindowFlags {
  job: string[];
  kind: string[];
  agent: string[];
  item: string[];
  correlation?: string;
  severity?: Severity;
  grep?: string;
  fixed?: boolean;
  where: string[];
}

/** --since, --until and --utc: a time window, as query, tail, export, stats and errors take it. */
export interface WindowFlags {
  since?: string;
  until?: string;
  utc?: boolean;
}

export function addWindowOptions(command: Command): Command {
  return command
    .option(
      '--since <time>',
      'from this time, inclusive: -1h, "2 hours ago", 15min (m: minutes, M: months), today, "yesterday 14:00", 2026-11-22, 2026-11-22T14:00, epoch',
    )
    .option('--until <time>', 'before this time, exclusive (same forms as --since)')
    .option('--utc', 'read and print times in UTC instead of local time');
}

/** The window's bounds in microseconds; a value that is not a time is a usage error naming its flag. */
export function parseWindow(flags: WindowFlags, now = Date.now()): { sinceUs?: number; untilUs?: number } {
  const utc = flags.utc === true;
  return {
    sinceUs: flags.since === undefined ? undefined : parseTimeArg('--since', flags.since, { now, utc }),
    untilUs: flags.until === undefined ? undefined : parseTimeArg('--until', flags.until, { now, utc }),
  };
}

/**
 * The event filters shared by query, tail and export, defined once. Before the command runs, each
 * --kind is checked: a name that is neither built in nor in the jobs read is a usage error with the
 * closest name (the log is only looked at for names that are not built in). `env` finds the log as
 * the command will ($MMM_EVENTS_DIR when there is no --dir).
 */
export function addFilterOptions(command: Command, env: NodeJS.ProcessEnv = process.env): Command {
  command
    .addOption(jobsOption())
    .option(
      '--kind <type>',
      'event type: AgentFailed, agent_failed, or a glob such as agent_* or *failed (repeatable, or a comma list)',
      collect,
      [],
    )
    .option('--agent <id>', 'only this agent (repeatable, or a comma list)', collect, [])
    .option(
      '--item <id>',
      'only events about this work item (data.item_id; repeatable, or a comma list)',
      collect,
      [],
    )
    .option('--correlation <id>', 'only this correlation id')
    .option(
      '--severity <level>',
      `minimum severity: ${SEVERITIES.join(', ')}`,
      choiceArg('--severity', SEVERITIES),
    );
  return addWindowOptions(command)
    .option('--grep <pattern>', 'a regular expression over the raw line')
    .option('--fixed', '--grep is a plain substring, not a regular expression')
    .option(
      '--where <path=value>',
      'a field of data equals a value, e.g. retry_eligible=true (repeatable; a value may hold commas)',
      collectEach,
      [],
    )
    .hook('preAction', async (_command, action) => {
      const flags = action.opts<{
        dir?: string;
        kind?: string[];
        job?: string[];
        follow?: boolean;
        untilDone?: boolean;
      }>();
      if (!flags.kind?.length) return;
      // The same directory rule as the command's own (tail -f may wait for the first job).
      const need = flags.follow === true || flags.untilDone === true ? 'log-or-new' : 'log';
      await checkKinds(flags.kind, () =>
        eventTypesInLog(locateEventsDir({ dir: flags.dir, env, need }), flags.job ?? []),
      );
    });
}

export function toFilter(flags: FilterFlags, now = Date.now()): EventFilter {
  return {
    jobs: flags.job,
    kinds: flags.kind,
    agents: flags.agent,
    items: flags.item,
    correlation: flags.correlation,
    severity: flags.severity,
    ...parseWindow(flags, now),
    grep: flags.grep,
    fixed: flags.fixed,
    where: flags.where,
  };
}

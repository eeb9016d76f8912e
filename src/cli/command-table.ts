import type { Command } from 'commander';
import { PRUNE_CONFIG_FILE } from '../format/paths.js';
import type { Output } from './io.js';

/** What a command module exports: it adds its options and action to a command the table created. */
export interface CommandModule {
  configure(command: Command, output: Output): void;
}

/**
 * Every subcommand, in the order `events --help` lists them. Only the name, aliases, one-line summary
 * and arguments live here, so that help and suggestions need no command module; the module itself
 * (options, action and everything it imports) is loaded only for the command that runs.
 */
export interface CommandEntry {
  name: string;
  aliases?: string[];
  summary: string;
  /** [usage, description] of each positional argument. */
  args?: [string, string][];
  load: () => Promise<CommandModule>;
}

export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'demo',
    summary: 'run a simulated MapReduce job that writes a real event log, then summarise that log',
    load: () => import('./commands/demo.js'),
  },
  {
    name: 'emit',
    summary: 'write one event from a shell script; exits once it is durable',
    args: [
      ['<event_type>', 'the event type (agent_started, job_completed, or your own snake_case name)'],
      [
        '[fields...]',
        'data fields: n=3 (number), ok=true (boolean), s=abc (string), x:=<json>, s==007 (string)',
      ],
    ],
    load: () => import('./commands/emit.js'),
  },
  {
    name: 'ingest',
    summary: 'write the JSON-lines events of stdin, acknowledging each line on stdout once durable',
    load: () => import('./commands/ingest.js'),
  },
  {
    name: 'collect',
    summary: 'append the events agents publish to NATS JetStream to the local log (runs until stopped)',
    load: () => import('./commands/collect.js'),
  },
  {
    name: 'query',
    summary: 'print the events that match the filters, merged across streams and jobs in time order',
    load: () => import('./commands/query.js'),
  },
  {
    name: 'tail',
    summary: 'print the newest events; with -f, keep printing new ones as they are written',
    load: () => import('./commands/tail.js'),
  },
  {
    name: 'export',
    summary: 'write the selected events as JSONL, JSON, CSV or a Markdown table, for other tools',
    load: () => import('./commands/export.js'),
  },
  {
    name: 'show',
    summary: 'print one event in full, with its envelope explained',
    args: [
      ['<job>', 'the job id'],
      ['<event>', 'a seq (12), stream:seq (main:12) when the job has several streams, or an event id'],
    ],
    load: () => import('./commands/show.js'),
  },
  {
    name: 'index',
    summary: 'check the segment indexes against their segments (default), or rebuild them',
    load: () => import('./commands/index.js'),
  },
  {
    name: 'rotate',
    summary: 'seal and compress the segments writers are done with (safe while writers run)',
    load: () => import('./commands/rotate.js'),
  },
  {
    name: 'prune',
    summary: `remove (or archive) old events by a retention policy; flags override ${PRUNE_CONFIG_FILE}`,
    load: () => import('./commands/prune.js'),
  },
  {
    name: 'jobs',
    aliases: ['ls'],
    summary: 'list jobs, most recently active first',
    load: () => import('./commands/jobs.js'),
  },
  {
    name: 'replay',
    summary:
      "fold a job's events into its state: items, agents, checkpoints; --check compares with job_completed or job_failed",
    load: () => import('./commands/replay.js'),
  },
  {
    name: 'stats',
    summary: 'figures for a job or every job in a window: events, outcomes, durations, throughput, errors',
    load: () => import('./commands/stats.js'),
  },
  {
    name: 'errors',
    summary: 'failures grouped by cause (numbers, ids, paths and hashes masked), with spikes flagged',
    load: () => import('./commands/errors.js'),
  },
  {
    name: 'trace',
    summary:
      'every event of one correlation id, across jobs and streams, in order, with the time between steps',
    args: [['<correlation-id>', "the correlation id (events show prints an event's)"]],
    load: () => import('./commands/trace.js'),
  },
  {
    name: 'timeline',
    summary: 'the job as people picture it: a row per agent, a bar per attempt, checkpoints and pauses',
    load: () => import('./commands/timeline.js'),
  },
  {
    name: 'verify',
    summary: 're-read every stream and prove it whole: seqs, the hash chain, seals, indexes; print each head',
    load: () => import('./commands/verify.js'),
  },
];

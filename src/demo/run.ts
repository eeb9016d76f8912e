import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import dayjs from 'dayjs';
import { errnoCode, InvalidArgumentError } from '../format/errors.js';
import { fsyncDir, mkdirDurable } from '../storage/fsutil.js';
import { assertValidId } from '../format/ids.js';
import { DEFAULT_EVENTS_DIR } from '../format/paths.js';
import { summarizeJobLog, type JobLogSummary } from '../read/job-summary.js';
import type { EchoOption } from '../write/echo.js';
import { EventLog, type Durability } from '../write/writer.js';
import { simulateJob, type DemoPlan } from './simulate.js';

export interface DemoOptions extends Partial<DemoPlan> {
  dir?: string;
  durability?: Durability;
  /** Playback speed: 1 plays the simulated timing as it is (a few seconds); 0 as fast as it can. */
  speed?: number;
  echo?: EchoOption;
}

export interface DemoResult {
  plan: DemoPlan;
  outcome: 'completed' | 'failed';
  /** Items that ended completed, and failed after their last attempt. */
  succeeded: number;
  failed: number;
  appended: number;
  elapsedMs: number;
  /** The log as read back from disk after the job closed. */
  log: JobLogSummary;
}

/** Runs a simulated MapReduce job through the public writer API, then reads its log back. */
export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const plan: DemoPlan = {
    jobId: options.jobId ?? defaultJobId(),
    agents: integerIn('agents', options.agents ?? 4, 1, 256),
    items: integerIn('items', options.items ?? 24, 1, 100_000),
    failRate: numberIn('fail-rate', options.failRate ?? 0.15, 0, 1),
    seed: integerIn('seed', options.seed ?? Math.floor(Math.random() * 1_000_000), 0, 2 ** 32 - 1),
  };
  const speed = numberIn('speed', options.speed ?? 1, 0, 1_000_000);
  const dir = options.dir ?? DEFAULT_EVENTS_DIR;
  await claimJobDir(dir, plan.jobId);
  const log = await EventLog.open({
    dir,
    jobId: plan.jobId,
    durability: options.durability,
    echo: options.echo,
  });
  const started = performance.now();
  const inFlight: Promise<unknown>[] = [];
  let oldest = 0;
  let appended = 0;
  let succeeded = 0;
  let last: string | undefined;
  try {
    for (const { atMs, correlationId, event } of simulateJob(plan)) {
      const due = speed === 0 ? 0 : atMs / speed - (performance.now() - started);
      if (due > 1) await sleep(due);
      // Agents run in parallel: their appends overlap and share group commits. At most a window of
      // them waits at a time: at --speed 0 a large job would otherwise hand the writer all its events
      // at once (memory, and a writer queue that long is slow to work through). The next batch forms
      // while the one before it is being synced.
      if (inFlight.length - oldest >= APPEND_WINDOW) {
        await inFlight[oldest++];
        if (oldest >= APPEND_WINDOW) {
          inFlight.splice(0, oldest);
          oldest = 0;
        }
      }
      inFlight.push(log.withCorrelation(correlationId, () => log.append(event)));
      appended++;
      if (event.event_type === 'agent_completed') succeeded++;
      last = event.event_type;
    }
    await Promise.all(inFlight);
  } finally {
    await Promise.allSettled(inFlight);
    await log.close();
  }
  const elapsedMs = performance.now() - started;
  return {
    plan,
    outcome: last === 'job_failed' ? 'failed' : 'completed',
    succeeded,
    failed: plan.items - succeeded,
    appended,
    elapsedMs,
    log: await summarizeJobLog(dir, plan.jobId),
  };
}

/** Appends waiting at most: a few MB of lines, a few of the writer's group commits. */
const APPEND_WINDOW = 4096;

/**
 * Creates the job's directory, refusing a job that already exists: a second demo with the same job id
 * would append a second run to the first one's log. Nothing is written when it is refused.
 */
async function claimJobDir(dir: string, jobId: string): Promise<void> {
  assertValidId('job id', jobId);
  await mkdirDurable(dir);
  try {
    await fs.mkdir(path.join(dir, jobId));
  } catch (err) {
    if (errnoCode(err) !== 'EEXIST') throw err;
    throw new InvalidArgumentError(`job ${jobId} already exists in ${dir}`, {
      hint: 'choose another --job or remove it',
    });
  }
  await fsyncDir(dir);
}

/** demo-20261122-143701-3f2a: sorts by start time, and two demos in one second do not collide. */
function defaultJobId(): string {
  const suffix = Math.floor(Math.random() * 0x10000)
    .toString(16)
    .padStart(4, '0');
  return `demo-${dayjs().format('YYYYMMDD-HHmmss')}-${suffix}`;
}

function numberIn(name: string, value: number, min: number, max: number): number {
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new InvalidArgumentError(`${name} must be a number from ${min} to ${max}, got ${value}`);
  }
  return value;
}

function integerIn(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value))
    throw new InvalidArgumentError(`${name} must be a whole number, got ${value}`);
  return numberIn(name, value, min, max);
}

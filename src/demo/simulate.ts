import { finishAttempt, startAttempt } from './attempt.js';
import type { ScheduledEvent } from './event-schedule.js';
import { JobSimulation, MAX_ATTEMPTS, type Agent, type DemoPlan } from './job-simulation.js';

export type { DemoPlan } from './job-simulation.js';
export type { ScheduledEvent } from './event-schedule.js';

/**
 * Simulates a MapReduce job as a discrete-event schedule: `agents` workers take items from a queue,
 * each in its own worktree, report progress, fail now and then, retry with backoff, and merge. Pure
 * and deterministic: the same plan gives the same schedule, in order of `atMs` (events at the same
 * moment in the order the simulation produced them).
 *
 * A generator, so that a large job is played while it is simulated: the agents, the queue, the
 * pending ends of attempts and the events not yet due are binary heaps, and only the events that are
 * still in the future are held in memory. Time and memory grow with the events, not their square.
 */
export function* simulateJob(plan: DemoPlan): Generator<ScheduledEvent, void, undefined> {
  const sim = new JobSimulation(plan);
  jobStarted(sim);
  // Agents pick the next ready item when free; an attempt that ends no later than the next start
  // ends first. The times of these decisions never go back, so what is due by then can be played.
  for (;;) {
    const free = sim.agents.peek() as Agent;
    const item = sim.pending.peek();
    const nextEnd = sim.ends.peek();
    const startAt = item === undefined ? Infinity : Math.max(free.freeAt, item.readyAt);
    if (nextEnd !== undefined && nextEnd.atMs <= startAt) {
      yield* sim.events.release(nextEnd.atMs);
      sim.ends.pop();
      finishAttempt(sim, nextEnd);
      continue;
    }
    if (item === undefined) break;
    yield* sim.events.release(startAt);
    sim.pending.pop();
    sim.agents.pop();
    startAttempt(sim, item, free.agent, startAt);
  }
  jobEnded(sim);
  yield* sim.events.release(Infinity);
}

function jobStarted(sim: JobSimulation): void {
  const { plan } = sim;
  sim.emitJob(0, {
    event_type: 'job_started',
    data: {
      config: {
        agents: plan.agents,
        max_attempts: MAX_ATTEMPTS,
        fail_rate: plan.failRate,
        seed: plan.seed,
        input: 'work-items.json',
      },
      total_items: plan.items,
    },
  });
  sim.queueDepth(0);
}

/** The job ends 5 ms after its last event: failed when more than half of its items failed. */
function jobEnded(sim: JobSimulation): void {
  const { plan, failed, completed } = sim;
  const endAt = sim.events.lastAt + 5;
  if (failed * 2 > plan.items) {
    sim.emitJob(endAt, {
      event_type: 'job_failed',
      data: { error: `${failed} of ${plan.items} items failed`, partial_results: completed },
    });
  } else {
    sim.emitJob(endAt, {
      event_type: 'job_completed',
      data: { duration_ms: endAt, success_count: completed, failure_count: failed },
    });
  }
}

import type { BuiltinEventInput } from '../format/schema/input.js';
import { MinHeap } from './heap.js';
import { between, pick, seededRandom } from './random.js';

export interface DemoPlan {
  jobId: string;
  agents: number;
  items: number;
  failRate: number;
  seed: number;
}

/** One event of the simulated job, at `atMs` after the job started. */
export interface ScheduledEvent {
  atMs: number;
  correlationId: string;
  event: BuiltinEventInput;
}

const STEPS = ['checkout', 'build', 'test', 'commit'] as const;
const MAX_ATTEMPTS = 3;
const ERRORS: readonly { message: (r: () => number) => string; retryable: boolean }[] = [
  {
    message: (r) => `exit status 1: test suite failed (${between(r, 1, 9)} of ${between(r, 40, 120)} tests)`,
    retryable: true,
  },
  { message: (r) => `timeout after ${between(r, 30, 120)}s waiting for the build`, retryable: true },
  { message: (r) => `merge conflict in src/module_${between(r, 1, 40)}.rs`, retryable: false },
  {
    message: (r) => `agent process killed: out of memory (rss ${between(r, 1800, 2400)} MB)`,
    retryable: true,
  },
];

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
  const random = seededRandom(plan.seed);
  // Emitted events wait here until no later decision can produce an earlier one. Ties keep the order
  // of emission, as the stable sort of the whole schedule did.
  const due = new MinHeap<ScheduledEvent & { order: number }>(
    (a, b) => a.atMs < b.atMs || (a.atMs === b.atMs && a.order < b.order),
  );
  let emitted = 0;
  let lastAt = 0;
  const emit = (atMs: number, correlationId: string, event: BuiltinEventInput) => {
    due.push({ atMs, correlationId, event, order: emitted++ });
    if (atMs > lastAt) lastAt = atMs;
  };
  /** The events at or before `atMs`: every decision from then on emits events at `atMs` or later. */
  function* release(atMs: number): Generator<ScheduledEvent, void, undefined> {
    for (let next = due.peek(); next !== undefined && next.atMs <= atMs; next = due.peek()) {
      due.pop();
      yield next;
    }
  }
  const jobCorrelation = plan.jobId;
  // The queue: the item ready first, ties in the order the items were queued.
  interface Pending {
    id: string;
    attempt: number;
    readyAt: number;
    order: number;
  }
  let queued = 0;
  const pending = new MinHeap<Pending>(
    (a, b) => a.readyAt < b.readyAt || (a.readyAt === b.readyAt && a.order < b.order),
  );
  for (let i = 0; i < plan.items; i++) {
    pending.push({ id: `item-${String(i + 1).padStart(4, '0')}`, attempt: 1, readyAt: 0, order: queued++ });
  }
  // The agents: the one free first, ties to the lower-numbered agent.
  const agents = new MinHeap<{ agent: number; freeAt: number }>(
    (a, b) => a.freeAt < b.freeAt || (a.freeAt === b.freeAt && a.agent < b.agent),
  );
  for (let agent = 0; agent < plan.agents; agent++) agents.push({ agent, freeAt: 0 });
  // Attempts under way, by the time they end, ties to the lower-numbered agent.
  interface End {
    atMs: number;
    agent: number;
    order: number;
    finish: () => void;
  }
  let started = 0;
  const ends = new MinHeap<End>(
    (a, b) =>
      a.atMs < b.atMs ||
      (a.atMs === b.atMs && (a.agent < b.agent || (a.agent === b.agent && a.order < b.order))),
  );
  let completed = 0;
  let failed = 0;
  let active = 0;
  let checkpoints = 0;
  let memoryWarned = false;
  const checkpointEvery = Math.max(1, Math.floor(plan.items / 4));
  const queueDepth = (atMs: number) =>
    emit(atMs, jobCorrelation, {
      event_type: 'queue_depth_changed',
      data: { pending: pending.size, active, completed: completed + failed },
    });

  emit(0, jobCorrelation, {
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
  queueDepth(0);
  // Agents pick the next ready item when free; an attempt that ends no later than the next start
  // ends first. The times of these decisions never go back, so what is due by then can be played.
  for (;;) {
    const free = agents.peek() as { agent: number; freeAt: number };
    const item = pending.peek();
    const nextEnd = ends.peek();
    const startAt = item === undefined ? Infinity : Math.max(free.freeAt, item.readyAt);
    if (nextEnd !== undefined && nextEnd.atMs <= startAt) {
      yield* release(nextEnd.atMs);
      ends.pop();
      nextEnd.finish();
      continue;
    }
    if (item === undefined) break;
    yield* release(startAt);
    pending.pop();
    agents.pop();
    active++;
    const agent = free.agent;
    const agentId = `agent-${agent + 1}`;
    const correlation = `${plan.jobId}/${item.id}`;
    const worktree = `wt-${item.id}-a${item.attempt}`;
    emit(startAt, correlation, {
      event_type: 'agent_started',
      agent_id: agentId,
      data: { item_id: item.id, worktree, attempt: item.attempt },
    });
    emit(startAt + 2, correlation, {
      event_type: 'worktree_created',
      agent_id: agentId,
      data: { item_id: item.id, worktree_name: worktree, branch: `mmm/${item.id}` },
    });
    queueDepth(startAt + 3);
    const work = between(random, 180, 650);
    const fails = random() < plan.failRate;
    const failStep = fails ? between(random, 0, STEPS.length - 1) : STEPS.length;
    for (let s = 0; s < failStep; s++) {
      emit(startAt + Math.round((work * (s + 1)) / STEPS.length) - 5, correlation, {
        event_type: 'agent_progress',
        agent_id: agentId,
        data: { item_id: item.id, step: STEPS[s] as string, progress_pct: ((s + 1) * 100) / STEPS.length },
      });
    }
    const endAt = startAt + (fails ? Math.round((work * (failStep + 0.5)) / STEPS.length) : work);
    agents.push({ agent, freeAt: endAt + 5 });
    const error = fails ? pick(random, ERRORS) : undefined;
    const backoff = 50 * 2 ** (item.attempt - 1) + between(random, 0, 40);
    const memoryUsed = between(random, 3300, 3900);
    ends.push({
      atMs: endAt,
      agent,
      order: started++,
      finish: () => {
        active--;
        if (error !== undefined) {
          const retry = error.retryable && item.attempt < MAX_ATTEMPTS;
          emit(endAt, correlation, {
            event_type: 'agent_failed',
            agent_id: agentId,
            data: { item_id: item.id, error: error.message(random), retry_eligible: error.retryable },
          });
          emit(endAt + 1, correlation, {
            event_type: 'worktree_cleaned',
            agent_id: agentId,
            data: { item_id: item.id, worktree_name: worktree },
          });
          if (retry) {
            emit(endAt + 2, correlation, {
              event_type: 'agent_retrying',
              agent_id: agentId,
              data: { item_id: item.id, attempt: item.attempt + 1, backoff_ms: backoff },
            });
            pending.push({
              id: item.id,
              attempt: item.attempt + 1,
              readyAt: endAt + 2 + backoff,
              order: queued++,
            });
          } else {
            failed++;
          }
        } else {
          completed++;
          emit(endAt, correlation, {
            event_type: 'agent_completed',
            agent_id: agentId,
            data: { item_id: item.id, duration_ms: endAt - startAt, commits: [commitHash(random)] },
          });
          emit(endAt + 1, correlation, {
            event_type: 'worktree_merged',
            agent_id: agentId,
            data: { item_id: item.id, target_branch: 'main' },
          });
          emit(endAt + 2, correlation, {
            event_type: 'worktree_cleaned',
            agent_id: agentId,
            data: { item_id: item.id, worktree_name: worktree },
          });
          if (completed % checkpointEvery === 0) {
            checkpoints++;
            emit(endAt + 3, jobCorrelation, {
              event_type: 'checkpoint_created',
              data: { version: checkpoints, agents_completed: completed },
            });
          }
          if (!memoryWarned && completed >= plan.items / 2) {
            memoryWarned = true;
            emit(endAt + 4, jobCorrelation, {
              event_type: 'memory_pressure',
              data: { used_mb: memoryUsed, limit_mb: 4096 },
            });
          }
        }
        queueDepth(endAt + 4);
      },
    });
  }
  const endAt = lastAt + 5;
  if (failed * 2 > plan.items) {
    emit(endAt, jobCorrelation, {
      event_type: 'job_failed',
      data: { error: `${failed} of ${plan.items} items failed`, partial_results: completed },
    });
  } else {
    emit(endAt, jobCorrelation, {
      event_type: 'job_completed',
      data: { duration_ms: endAt, success_count: completed, failure_count: failed },
    });
  }
  yield* release(Infinity);
}

function commitHash(random: () => number): string {
  return Array.from({ length: 10 }, () => Math.floor(random() * 16).toString(16)).join('');
}

import type { BuiltinEventInput } from '../schema/input.js';
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
 * and deterministic: the same plan gives the same schedule.
 */
export function simulateJob(plan: DemoPlan): ScheduledEvent[] {
  const random = seededRandom(plan.seed);
  const out: ScheduledEvent[] = [];
  const emit = (atMs: number, correlationId: string, event: BuiltinEventInput) =>
    out.push({ atMs, correlationId, event });
  const jobCorrelation = plan.jobId;
  const pending = Array.from({ length: plan.items }, (_, i) => ({
    id: `item-${String(i + 1).padStart(4, '0')}`,
    attempt: 1,
    readyAt: 0,
  }));
  const agentFreeAt = Array.from({ length: plan.agents }, () => 0);
  let completed = 0;
  let failed = 0;
  let active = 0;
  let checkpoints = 0;
  let memoryWarned = false;
  const checkpointEvery = Math.max(1, Math.floor(plan.items / 4));
  const queueDepth = (atMs: number) =>
    emit(atMs, jobCorrelation, {
      event_type: 'queue_depth_changed',
      data: { pending: pending.length, active, completed: completed + failed },
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
  // Agents pick the next ready item when free; ties go to the lower-numbered agent.
  const ends: { atMs: number; agent: number; finish: () => void }[] = [];
  for (;;) {
    const agent = agentFreeAt.indexOf(Math.min(...agentFreeAt));
    const item = pending.sort((a, b) => a.readyAt - b.readyAt)[0];
    const nextEnd = ends.sort((a, b) => a.atMs - b.atMs || a.agent - b.agent)[0];
    const startAt = item === undefined ? Infinity : Math.max(agentFreeAt[agent] ?? 0, item.readyAt);
    if (nextEnd !== undefined && nextEnd.atMs <= startAt) {
      ends.shift();
      nextEnd.finish();
      continue;
    }
    if (item === undefined) break;
    pending.shift();
    active++;
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
    agentFreeAt[agent] = endAt + 5;
    const error = fails ? pick(random, ERRORS) : undefined;
    const backoff = 50 * 2 ** (item.attempt - 1) + between(random, 0, 40);
    const memoryUsed = between(random, 3300, 3900);
    ends.push({
      atMs: endAt,
      agent,
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
            pending.push({ id: item.id, attempt: item.attempt + 1, readyAt: endAt + 2 + backoff });
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
  const endAt = Math.max(...out.map((e) => e.atMs)) + 5;
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
  // Stable: events at the same moment keep the order in which the simulation produced them.
  return out
    .map((e, i) => ({ e, i }))
    .sort((a, b) => a.e.atMs - b.e.atMs || a.i - b.i)
    .map(({ e }) => e);
}

function commitHash(random: () => number): string {
  return Array.from({ length: 10 }, () => Math.floor(random() * 16).toString(16)).join('');
}

import { between, pick } from './random.js';
import { MAX_ATTEMPTS, type Attempt, type JobSimulation, type Pending } from './job-simulation.js';

const STEPS = ['checkout', 'build', 'test', 'commit'] as const;
const ERRORS: readonly NonNullable<Attempt['error']>[] = [
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

const agentIdOf = (a: { agent: number }) => `agent-${a.agent + 1}`;
const correlationOf = (sim: JobSimulation, item: Pending) => `${sim.plan.jobId}/${item.id}`;
const worktreeOf = (item: Pending) => `wt-${item.id}-a${item.attempt}`;

/**
 * An agent takes an item at `startAt`: emits its start and progress, and decides (drawing from the
 * seeded random in a fixed order, so the same seed gives the same job) how and when it ends.
 */
export function startAttempt(sim: JobSimulation, item: Pending, agent: number, startAt: number): void {
  const { random } = sim;
  sim.active++;
  const agent_id = agentIdOf({ agent });
  const correlation = correlationOf(sim, item);
  const worktree = worktreeOf(item);
  sim.events.emit(startAt, correlation, {
    event_type: 'agent_started',
    agent_id,
    data: { item_id: item.id, worktree, attempt: item.attempt },
  });
  sim.events.emit(startAt + 2, correlation, {
    event_type: 'worktree_created',
    agent_id,
    data: { item_id: item.id, worktree_name: worktree, branch: `mmm/${item.id}` },
  });
  sim.queueDepth(startAt + 3);
  const work = between(random, 180, 650);
  const fails = random() < sim.plan.failRate;
  const failStep = fails ? between(random, 0, STEPS.length - 1) : STEPS.length;
  for (let s = 0; s < failStep; s++) {
    sim.events.emit(startAt + Math.round((work * (s + 1)) / STEPS.length) - 5, correlation, {
      event_type: 'agent_progress',
      agent_id,
      data: { item_id: item.id, step: STEPS[s] as string, progress_pct: ((s + 1) * 100) / STEPS.length },
    });
  }
  const endAt = startAt + (fails ? Math.round((work * (failStep + 0.5)) / STEPS.length) : work);
  sim.agents.push({ agent, freeAt: endAt + 5 });
  const error = fails ? pick(random, ERRORS) : undefined;
  const backoff = 50 * 2 ** (item.attempt - 1) + between(random, 0, 40);
  const memoryUsed = between(random, 3300, 3900);
  sim.ends.push({ atMs: endAt, agent, order: sim.started++, item, startAt, error, backoff, memoryUsed });
}

/** An attempt ends: it failed (and may be queued again) or completed; then the queue depth. */
export function finishAttempt(sim: JobSimulation, attempt: Attempt): void {
  sim.active--;
  if (attempt.error !== undefined) attemptFailed(sim, attempt, attempt.error);
  else attemptCompleted(sim, attempt);
  sim.queueDepth(attempt.atMs + 4);
}

function attemptFailed(sim: JobSimulation, attempt: Attempt, error: NonNullable<Attempt['error']>): void {
  const { item, atMs: endAt } = attempt;
  const agent_id = agentIdOf(attempt);
  const correlation = correlationOf(sim, item);
  const retry = error.retryable && item.attempt < MAX_ATTEMPTS;
  sim.events.emit(endAt, correlation, {
    event_type: 'agent_failed',
    agent_id,
    data: { item_id: item.id, error: error.message(sim.random), retry_eligible: error.retryable },
  });
  sim.events.emit(endAt + 1, correlation, {
    event_type: 'worktree_cleaned',
    agent_id,
    data: { item_id: item.id, worktree_name: worktreeOf(item) },
  });
  if (!retry) {
    sim.failed++;
    return;
  }
  sim.events.emit(endAt + 2, correlation, {
    event_type: 'agent_retrying',
    agent_id,
    data: { item_id: item.id, attempt: item.attempt + 1, backoff_ms: attempt.backoff },
  });
  sim.enqueue(item.id, item.attempt + 1, endAt + 2 + attempt.backoff);
}

function attemptCompleted(sim: JobSimulation, attempt: Attempt): void {
  const { item, atMs: endAt } = attempt;
  const agent_id = agentIdOf(attempt);
  const correlation = correlationOf(sim, item);
  sim.completed++;
  sim.events.emit(endAt, correlation, {
    event_type: 'agent_completed',
    agent_id,
    data: { item_id: item.id, duration_ms: endAt - attempt.startAt, commits: [commitHash(sim.random)] },
  });
  sim.events.emit(endAt + 1, correlation, {
    event_type: 'worktree_merged',
    agent_id,
    data: { item_id: item.id, target_branch: 'main' },
  });
  sim.events.emit(endAt + 2, correlation, {
    event_type: 'worktree_cleaned',
    agent_id,
    data: { item_id: item.id, worktree_name: worktreeOf(item) },
  });
  if (sim.completed % sim.checkpointEvery === 0) {
    sim.checkpoints++;
    sim.emitJob(endAt + 3, {
      event_type: 'checkpoint_created',
      data: { version: sim.checkpoints, agents_completed: sim.completed },
    });
  }
  if (!sim.memoryWarned && sim.completed >= sim.plan.items / 2) {
    sim.memoryWarned = true;
    sim.emitJob(endAt + 4, {
      event_type: 'memory_pressure',
      data: { used_mb: attempt.memoryUsed, limit_mb: 4096 },
    });
  }
}

function commitHash(random: () => number): string {
  return Array.from({ length: 10 }, () => Math.floor(random() * 16).toString(16)).join('');
}

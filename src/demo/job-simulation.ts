import type { BuiltinEventInput } from '../format/schema/input.js';
import { EventSchedule } from './event-schedule.js';
import { MinHeap } from './heap.js';
import { seededRandom } from './random.js';

export interface DemoPlan {
  jobId: string;
  agents: number;
  items: number;
  failRate: number;
  seed: number;
}

export const MAX_ATTEMPTS = 3;

/** An item waiting in the queue for its next attempt. */
export interface Pending {
  id: string;
  attempt: number;
  readyAt: number;
  order: number;
}

/** An agent, and when it is next free. */
export interface Agent {
  agent: number;
  freeAt: number;
}

/** An attempt under way: when it ends, and what it emits then. */
export interface Attempt {
  atMs: number;
  agent: number;
  order: number;
  item: Pending;
  startAt: number;
  /** The error it fails with, or undefined when it completes. */
  error: { message: (r: () => number) => string; retryable: boolean } | undefined;
  backoff: number;
  memoryUsed: number;
}

/**
 * The state of a simulated job: the queue, the agents, the attempts under way (binary heaps, so that
 * time and memory grow with the events, not their square), the counts, and the events not yet due.
 */
export class JobSimulation {
  readonly random: () => number;
  readonly events = new EventSchedule();
  /** The queue: the item ready first, ties in the order the items were queued. */
  readonly pending = new MinHeap<Pending>(
    (a, b) => a.readyAt < b.readyAt || (a.readyAt === b.readyAt && a.order < b.order),
  );
  /** The agents: the one free first, ties to the lower-numbered agent. */
  readonly agents = new MinHeap<Agent>(
    (a, b) => a.freeAt < b.freeAt || (a.freeAt === b.freeAt && a.agent < b.agent),
  );
  /** Attempts under way, by the time they end, ties to the lower-numbered agent. */
  readonly ends = new MinHeap<Attempt>(
    (a, b) =>
      a.atMs < b.atMs ||
      (a.atMs === b.atMs && (a.agent < b.agent || (a.agent === b.agent && a.order < b.order))),
  );
  private queued = 0;
  started = 0;
  completed = 0;
  failed = 0;
  active = 0;
  checkpoints = 0;
  memoryWarned = false;
  readonly checkpointEvery: number;

  constructor(readonly plan: DemoPlan) {
    this.random = seededRandom(plan.seed);
    this.checkpointEvery = Math.max(1, Math.floor(plan.items / 4));
    for (let i = 0; i < plan.items; i++) this.enqueue(`item-${String(i + 1).padStart(4, '0')}`, 1, 0);
    for (let agent = 0; agent < plan.agents; agent++) this.agents.push({ agent, freeAt: 0 });
  }

  enqueue(id: string, attempt: number, readyAt: number): void {
    this.pending.push({ id, attempt, readyAt, order: this.queued++ });
  }

  /** An event of the job as a whole (not of one item). */
  emitJob(atMs: number, event: BuiltinEventInput): void {
    this.events.emit(atMs, this.plan.jobId, event);
  }

  queueDepth(atMs: number): void {
    this.emitJob(atMs, {
      event_type: 'queue_depth_changed',
      data: { pending: this.pending.size, active: this.active, completed: this.completed + this.failed },
    });
  }
}

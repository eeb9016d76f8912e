import type { BuiltinEventInput } from '../format/schema/input.js';
import { MinHeap } from './heap.js';

/** One event of the simulated job, at `atMs` after the job started. */
export interface ScheduledEvent {
  atMs: number;
  correlationId: string;
  event: BuiltinEventInput;
}

/**
 * The events emitted and not yet played: they wait here until no later decision can produce an
 * earlier one. Ties keep the order of emission, as the stable sort of the whole schedule did.
 */
export class EventSchedule {
  private readonly due = new MinHeap<ScheduledEvent & { order: number }>(
    (a, b) => a.atMs < b.atMs || (a.atMs === b.atMs && a.order < b.order),
  );
  private emitted = 0;
  /** The time of the latest event emitted. */
  lastAt = 0;

  emit(atMs: number, correlationId: string, event: BuiltinEventInput): void {
    this.due.push({ atMs, correlationId, event, order: this.emitted++ });
    if (atMs > this.lastAt) this.lastAt = atMs;
  }

  /** The events at or before `atMs`: every decision from then on emits events at `atMs` or later. */
  *release(atMs: number): Generator<ScheduledEvent, void, undefined> {
    for (let next = this.due.peek(); next !== undefined && next.atMs <= atMs; next = this.due.peek()) {
      this.due.pop();
      yield next;
    }
  }
}

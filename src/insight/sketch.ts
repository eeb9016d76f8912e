/**
 * A log-bucketed histogram for percentiles in fixed memory: values (ms, >= 0) fall into buckets 1%
 * wide, so a percentile is within 1% of the exact one and memory is a few thousand buckets whatever
 * the number of values. Count, sum, min and max are exact.
 */
export class LogHistogram {
  private readonly buckets = new Map<number, number>();
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;

  add(value: number): void {
    if (!Number.isFinite(value) || value < 0) return;
    this.count++;
    this.sum += value;
    this.min = Math.min(this.min, value);
    this.max = Math.max(this.max, value);
    const bucket = value < 1 ? -1 : Math.floor(Math.log(value) / LOG_STEP);
    this.buckets.set(bucket, (this.buckets.get(bucket) ?? 0) + 1);
  }

  /** Adds another histogram's values to this one. */
  merge(other: LogHistogram): void {
    this.count += other.count;
    this.sum += other.sum;
    this.min = Math.min(this.min, other.min);
    this.max = Math.max(this.max, other.max);
    for (const [bucket, n] of other.buckets) this.buckets.set(bucket, (this.buckets.get(bucket) ?? 0) + n);
  }

  /** The p-th percentile (0-100), the middle of its bucket, clamped to the exact min and max. */
  percentile(p: number): number | undefined {
    if (this.count === 0) return undefined;
    const rank = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = 0;
    for (const bucket of [...this.buckets.keys()].sort((a, b) => a - b)) {
      seen += this.buckets.get(bucket) ?? 0;
      if (seen >= rank) {
        const value = bucket < 0 ? 0.5 : Math.exp((bucket + 0.5) * LOG_STEP);
        return Math.min(this.max, Math.max(this.min, value));
      }
    }
    return this.max;
  }

  get mean(): number | undefined {
    return this.count === 0 ? undefined : this.sum / this.count;
  }
}

const LOG_STEP = Math.log(1.01);

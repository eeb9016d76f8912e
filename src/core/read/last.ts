/** The newest `n` items of an iteration, in their order: a ring, so memory is bounded by `n`. */
export async function lastOf<T>(items: AsyncIterable<T>, n: number): Promise<T[]> {
  if (n === 0) {
    // Still read to the end: the caller may want the cursor and the counts of the whole read.
    for await (const item of items) void item;
    return [];
  }
  const ring: T[] = [];
  let seen = 0;
  for await (const item of items) ring[seen++ % n] = item;
  const start = seen > n ? seen % n : 0;
  return [...ring.slice(start), ...ring.slice(0, start)];
}

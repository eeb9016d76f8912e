import fs from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { DataError } from '../format/errors.js';
import { compressSegment } from './compress.js';

/** What the compression thread sends back: the sizes (or undefined: nothing to do), or its failure. */
export type CompressReply =
  | { result: Awaited<ReturnType<typeof compressSegment>> }
  | { failure: { name: string; message: string; code: string } };

/** Below this, a segment is compressed on the calling thread: starting a thread would cost more. */
export const OFF_THREAD_BYTES = 8 * 1024 * 1024;

// The thread's module beside this one: `.js` when built. Run from source (the tests, under tsx), a
// thread does not inherit tsx's loader, so it starts through a line that registers it first.
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const WORKER = new URL(`./compress-worker.${FROM_SOURCE ? 'ts' : 'js'}`, import.meta.url);
const TSX_SHIM = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(WORKER.href)}); });`;

/**
 * compressSegment() for a writer: a segment of OFF_THREAD_BYTES or more is compressed on a thread of
 * its own, so the gzip members, the check of the copy and the reads never take the writer's core
 * (docs/format.md section 9). The same steps, the same locks, the same errors.
 */
export async function compressOffThread(plainFile: string): Promise<void> {
  const size = (await fs.stat(plainFile)).size;
  if (size < OFF_THREAD_BYTES) {
    await compressSegment(plainFile);
    return;
  }
  const reply = await new Promise<CompressReply>((resolve, reject) => {
    const workerData = { file: plainFile };
    const worker = FROM_SOURCE
      ? new Worker(TSX_SHIM, { eval: true, workerData })
      : new Worker(WORKER, { workerData });
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) =>
      reject(new Error(`the compression thread of ${plainFile} ended (exit code ${code}) without a reply`)),
    );
  });
  if ('failure' in reply) throw errorOf(reply.failure);
}

/** The thread's failure as the caller would have had it: a DataError stays one; an errno keeps its code. */
function errorOf(failure: { name: string; message: string; code: string }): Error {
  if (failure.name === 'DataError') return new DataError(failure.message);
  return Object.assign(new Error(failure.message), failure.code === '' ? {} : { code: failure.code });
}

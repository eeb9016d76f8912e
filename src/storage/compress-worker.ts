import { parentPort, workerData } from 'node:worker_threads';
import { compressSegment } from './compress.js';
import type { CompressReply } from './compress-off-thread.js';

/** The entry of the thread compressOffThread() starts: one segment, then a reply, then it ends. */
const { file } = workerData as { file: string };
compressSegment(file).then(
  (result) => parentPort?.postMessage({ result } satisfies CompressReply),
  (err: unknown) => {
    const { name, message, code } = err as { name?: string; message?: string; code?: unknown };
    const failure = { name: name ?? 'Error', message: message ?? String(err), code: String(code ?? '') };
    parentPort?.postMessage({ failure } satisfies CompressReply);
  },
);

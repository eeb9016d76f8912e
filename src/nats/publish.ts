import {
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  type PubAck,
} from '@nats-io/jetstream';
import { RemoteError } from '../format/errors.js';
import { messageOf } from './connection.js';

/**
 * Publishes one event, retrying what may succeed later (a timeout, a lost connection, a server or
 * its JetStream restarting) for up to `retryForMs`, always with the event id as the message id: a
 * retry of a publish that did land is a duplicate JetStream drops (within its duplicate window); past
 * the window, the collector drops it while its writer still remembers the id (docs/deployment.md).
 */
export async function publishWithRetry(
  js: JetStreamClient,
  subject: string,
  body: string,
  id: string,
  options: { publishTimeoutMs: number; retryForMs: number },
): Promise<PubAck> {
  const deadline = Date.now() + options.retryForMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return await js.publish(subject, body, { msgID: id, timeout: options.publishTimeoutMs });
    } catch (err) {
      if (!isRetryable(err) || Date.now() >= deadline) throw publishError(subject, err);
      await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 25 * 2 ** attempt)));
    }
  }
}

/** The JetStream stream that takes `subject`, or a RemoteError saying how to create it. */
export async function streamOfSubject(jsm: JetStreamManager, subject: string): Promise<string> {
  try {
    return await jsm.streams.find(subject);
  } catch (err) {
    throw new RemoteError(`no JetStream stream takes ${subject}: ${messageOf(err)}`, {
      cause: err,
      hint: 'start `events collect --nats URL` once: it creates the stream',
    });
  }
}

/** An API error (the stream refused the message: too big, full, no stream) will not change by retrying. */
function isRetryable(err: unknown): boolean {
  return !(err instanceof JetStreamApiError);
}

function publishError(subject: string, err: unknown): RemoteError {
  const full = err instanceof JetStreamApiError && /maximum|limit|full|exceed/i.test(err.message);
  return new RemoteError(`JetStream did not acknowledge the event on ${subject}: ${messageOf(err)}`, {
    cause: err,
    hint: full
      ? 'the JetStream stream is full: collect and purge it, or raise its limits'
      : 'nothing is known to be durable; retrying with the same event id is safe',
  });
}

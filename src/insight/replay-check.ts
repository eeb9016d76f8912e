import type { JobState } from './replay-state.js';

/**
 * Whether the log of a job that ended is consistent: the replay agrees with what its job_completed
 * event reported (items succeeded and failed) or, for a job that failed, with its job_failed event
 * (`partial_results`, the items that completed), and no event contradicted the state before it. A job
 * that failed is not a problem; a job that has not ended is (there is nothing to check yet).
 */
export function checkReplay(state: JobState): { ok: boolean; problems: string[] } {
  const problems: string[] = [];
  if (state.phase === 'failed' && state.failure !== undefined) {
    const { partialResults } = state.failure;
    if (partialResults !== state.counts.completed) {
      problems.push(
        `job_failed says ${partialResults} items had results; the events show ${state.counts.completed} completed`,
      );
    }
  } else if (state.phase !== 'completed' || state.reported === undefined) {
    problems.push(`the job has not ended (it is ${state.phase.replace('_', ' ')})`);
  } else {
    const { successCount, failureCount } = state.reported;
    if (successCount !== state.counts.completed) {
      problems.push(
        `job_completed says ${successCount} items succeeded; the events show ${state.counts.completed}`,
      );
    }
    if (failureCount !== state.counts.failed) {
      problems.push(
        `job_completed says ${failureCount} items failed; the events show ${state.counts.failed}`,
      );
    }
  }
  for (const a of state.anomalies)
    problems.push(`anomaly at ${a.stream}:${a.seq} (${a.eventType}): ${a.problem}`);
  return { ok: problems.length === 0, problems };
}

import type { AttemptOutcome, JobState } from './replay.js';

/** The job as intervals on one time axis: an agent's attempts, and the checkpoints and pauses. */
export interface Timeline {
  job: string | undefined;
  start: string | undefined;
  end: string | undefined;
  agents: {
    agent: string;
    attempts: {
      item: string;
      attempt: number;
      start: string;
      end: string | undefined;
      outcome: AttemptOutcome;
    }[];
  }[];
  checkpoints: { version: number; at: string }[];
  pauses: { at: string; resumedAt: string | undefined }[];
  /** When the job failed and why (its job_failed event); absent unless it failed. */
  failure?: { at: string; error: string };
}

export function timelineOf(state: JobState): Timeline {
  const agents = new Map<string, Timeline['agents'][number]>();
  for (const a of state.attempts) {
    const row = agents.get(a.agent) ?? { agent: a.agent, attempts: [] };
    agents.set(a.agent, row);
    row.attempts.push({ item: a.item, attempt: a.attempt, start: a.start, end: a.end, outcome: a.outcome });
  }
  return {
    job: state.job,
    start: state.startedAt,
    end: state.lastEvent?.ts,
    agents: [...agents.values()].sort((a, b) => (a.agent < b.agent ? -1 : 1)),
    checkpoints: state.checkpoints.map((c) => ({ version: c.version, at: c.at })),
    pauses: state.pauses,
    ...(state.failure === undefined ? {} : { failure: { at: state.failure.at, error: state.failure.error } }),
  };
}

import type { EventRecord } from './schema/envelope.js';

type Data = Record<string, unknown>;

/** The few fields that matter for each event type, as `key=value` text for one-line output. */
const SUMMARIES: Record<string, (d: Data) => string> = {
  job_started: (d) => `total_items=${str(d.total_items)}`,
  job_completed: (d) =>
    `succeeded=${str(d.success_count)} failed=${str(d.failure_count)} duration=${duration(d.duration_ms)}`,
  job_failed: (d) => `error=${quote(d.error)} partial_results=${str(d.partial_results)}`,
  job_paused: (d) => `checkpoint=${str(d.checkpoint_version)}`,
  job_resumed: (d) => `checkpoint=${str(d.checkpoint_version)} pending=${str(d.pending_items)}`,
  agent_started: (d) => `item=${str(d.item_id)} attempt=${str(d.attempt)}`,
  agent_progress: (d) => `${item(d)}step=${str(d.step)} ${str(d.progress_pct)}%`,
  agent_completed: (d) => `${item(d)}duration=${duration(d.duration_ms)} commits=${count(d.commits)}`,
  agent_failed: (d) => `${item(d)}error=${quote(d.error)}${d.retry_eligible === true ? ' (retryable)' : ''}`,
  agent_retrying: (d) => `${item(d)}attempt=${str(d.attempt)} backoff=${duration(d.backoff_ms)}`,
  checkpoint_created: (d) => `version=${str(d.version)} agents_completed=${str(d.agents_completed)}`,
  checkpoint_loaded: (d) => `version=${str(d.version)}`,
  checkpoint_failed: (d) => `error=${quote(d.error)}`,
  worktree_created: (d) => `${item(d)}worktree=${str(d.worktree_name)} branch=${str(d.branch)}`,
  worktree_merged: (d) => `${item(d)}into=${str(d.target_branch)}`,
  worktree_cleaned: (d) => `${item(d)}worktree=${str(d.worktree_name)}`,
  queue_depth_changed: (d) =>
    `pending=${str(d.pending)} active=${str(d.active)} completed=${str(d.completed)}`,
  memory_pressure: (d) => `used=${str(d.used_mb)}MB limit=${str(d.limit_mb)}MB`,
};

/** One line of the fields that matter for this event; custom types show their data as compact JSON. */
export function summarizeEvent(record: Pick<EventRecord, 'event_type' | 'data'>): string {
  const data = record.data;
  const summarize = SUMMARIES[record.event_type];
  if (summarize !== undefined && typeof data === 'object' && data !== null && !Array.isArray(data)) {
    return summarize(data as Data);
  }
  const json = JSON.stringify(data);
  return json === '{}' ? '' : json.length > 200 ? `${json.slice(0, 199)}…` : json;
}

function str(value: unknown): string {
  return value === undefined ? '-' : String(value);
}

function item(d: Data): string {
  return d.item_id === undefined ? '' : `item=${str(d.item_id)} `;
}

function quote(value: unknown): string {
  return JSON.stringify(String(value ?? ''));
}

function count(value: unknown): string {
  return Array.isArray(value) ? String(value.length) : '-';
}

/** 1234 → "1.23s", 45 → "45ms", 125000 → "2m05s" */
export function duration(value: unknown): string {
  if (typeof value !== 'number' || !Number.isFinite(value)) return '-';
  if (value < 1000) return `${Math.round(value)}ms`;
  if (value < 60_000) return `${(value / 1000).toFixed(2)}s`;
  const minutes = Math.floor(value / 60_000);
  const seconds = Math.floor((value % 60_000) / 1000);
  if (minutes < 60) return `${minutes}m${String(seconds).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

/** The plain one-line rendering used by the library's stdout echo. */
export function formatEventPlain(record: EventRecord): string {
  const summary = summarizeEvent(record);
  const agent = record.agent_id ?? '-';
  return `${record.ts} ${record.job_id} ${agent} ${record.event_type} ${record.severity}${summary === '' ? '' : ' ' + summary}`;
}

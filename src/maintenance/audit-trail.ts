import path from 'node:path';
import { GLOBAL_DIR, auditFileName } from '../format/paths.js';
import { mkdirDurable, openRegular } from '../storage/fsutil.js';
import type { PrunePolicy } from './prune-policy.js';
import type { PruneItem } from './prune-plan.js';

/** `global/audit-<date>.jsonl`: one line per removal, appended and synced (format.md section 10). */
export class AuditTrail {
  readonly archive: string | undefined;
  readonly policyText: Record<string, unknown>;
  constructor(
    private readonly dir: string,
    policy: PrunePolicy,
  ) {
    this.archive = policy.archive;
    this.policyText = Object.fromEntries(Object.entries(policy).filter(([, v]) => v !== undefined));
  }

  async record(item: PruneItem, archive: string | undefined, policy: Record<string, unknown>): Promise<void> {
    const file = path.join(this.dir, GLOBAL_DIR, auditFileName(new Date().toISOString().slice(0, 10)));
    const line = {
      ts: new Date().toISOString(),
      action: archive === undefined ? 'deleted' : 'archived',
      ...(archive === undefined ? {} : { archive }),
      job: item.job,
      what: item.kind === 'job' ? 'job' : `${item.segment} (seq ${item.seq?.join('-')})`,
      reason: item.reason,
      policy,
      events: item.events,
      bytes: item.bytes,
      last_hash: item.lastHash,
    };
    await mkdirDurable(path.dirname(file));
    const handle = await openRegular(file, 'a');
    try {
      await handle.write(JSON.stringify(line) + '\n');
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
}

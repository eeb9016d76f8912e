import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { EventLog, EventValidationError, type EventInput } from '../src/index.js';
import { ENVELOPE_FIELDS } from '../src/format/schema/envelope.js';
import { BUILTIN_EVENT_TABLE } from '../src/format/schema/event-types.js';
import { rawLines, ROOT, segmentFiles, tempDir } from './helpers.js';

describe('event validation', () => {
  const cases: { name: string; event: unknown; field: string; type: string }[] = [
    {
      name: 'wrong field type',
      event: { event_type: 'agent_failed', agent_id: 'a1', data: { error: 'boom', retry_eligible: 'yes' } },
      type: 'agent_failed',
      field: 'data.retry_eligible',
    },
    {
      name: 'missing data field',
      event: { event_type: 'job_started', data: { config: {} } },
      type: 'job_started',
      field: 'data.total_items',
    },
    {
      name: 'unknown data field on a built-in type',
      event: { event_type: 'checkpoint_loaded', data: { version: 2, verison: 3 } },
      type: 'checkpoint_loaded',
      field: 'data',
    },
    {
      name: 'agent event without agent_id',
      event: { event_type: 'agent_completed', data: { duration_ms: 5, commits: [] } },
      type: 'agent_completed',
      field: 'agent_id',
    },
    {
      name: 'event type not snake_case',
      event: { event_type: 'AgentFailed', agent_id: 'a', data: {} },
      type: 'AgentFailed',
      field: 'event_type',
    },
    {
      name: 'no event type at all',
      event: { agent_id: 'a', data: {} },
      type: 'unknown',
      field: 'event_type',
    },
    {
      name: 'unknown severity',
      event: { event_type: 'my_step', severity: 'loud', data: {} },
      type: 'my_step',
      field: 'severity',
    },
    {
      name: 'progress over 100 percent',
      event: { event_type: 'agent_progress', agent_id: 'a', data: { step: 's', progress_pct: 140 } },
      type: 'agent_progress',
      field: 'data.progress_pct',
    },
    {
      name: 'custom data that is not JSON',
      event: { event_type: 'my_step', data: { when: new Date(0) } },
      type: 'my_step',
      field: 'data.when',
    },
  ];

  for (const c of cases) {
    it(`rejects ${c.name}, naming ${c.type} and ${c.field}, and writes nothing`, async () => {
      const dir = tempDir();
      const log = await EventLog.open({ dir, jobId: 'job-v' });
      await assert.rejects(log.append(c.event as EventInput), (err: unknown) => {
        assert.ok(err instanceof EventValidationError, `got ${String(err)}`);
        assert.equal(err.eventType, c.type);
        assert.equal(err.field, c.field);
        assert.match(err.message, new RegExp(`${c.type}.*${c.field.replace('.', '\\.')}`));
        return true;
      });
      const ok = await log.append({ event_type: 'checkpoint_loaded', data: { version: 1 } });
      assert.equal(ok.seq, 1, 'the rejected event took no seq');
      await log.close();
      const lines = segmentFiles(path.join(dir, 'job-v')).flatMap(rawLines);
      assert.equal(lines.length, 1);
    });
  }

  it('accepts custom event types with any JSON data and fills the envelope defaults', async () => {
    const dir = tempDir();
    const log = await EventLog.open({ dir, jobId: 'job-c' });
    await log.append({ event_type: 'rebase_required', data: { files: ['a.rs', 'b.rs'], depth: { n: 1 } } });
    await log.append({
      event_type: 'agent_failed',
      agent_id: 'agent-2',
      data: { error: 'x', retry_eligible: false },
    });
    await log.append({ event_type: 'task_started' });
    await log.close();
    const [custom, failed, bare] = rawLines(segmentFiles(path.join(dir, 'job-c'))[0] as string).map((l) =>
      JSON.parse(l),
    );
    assert.deepEqual(custom.data, { files: ['a.rs', 'b.rs'], depth: { n: 1 } });
    assert.equal(custom.severity, 'info');
    assert.equal(custom.correlation_id, 'job-c');
    assert.equal(failed.severity, 'error', 'agent_failed defaults to error');
    assert.equal(failed.agent_id, 'agent-2');
    assert.deepEqual(bare.data, {});
    // Every field but the optional `meta`, in the envelope's order.
    assert.deepEqual(
      Object.keys(failed),
      ENVELOPE_FIELDS.filter((f) => f !== 'meta'),
    );
  });

  it('the built-in event types and their default severities are those of format.md section 4', () => {
    const doc = fs.readFileSync(path.join(ROOT, 'docs', 'format.md'), 'utf8');
    const section = doc.slice(doc.indexOf('## 4. Event types'), doc.indexOf('## 5.'));
    const documented = [...section.matchAll(/^\| `([a-z_]+)` \|.*\| (\w+) \|$/gm)].map((m) => [m[1], m[2]]);
    assert.equal(documented.length, 18);
    assert.deepEqual(
      Object.entries(BUILTIN_EVENT_TABLE).map(([type, spec]) => [type, spec.severity]),
      documented,
    );
  });

  it('the envelope fields are those of format.md section 2, in its order', () => {
    const doc = fs.readFileSync(path.join(ROOT, 'docs', 'format.md'), 'utf8');
    const section = doc.slice(doc.indexOf('## 2. The record'), doc.indexOf('## 3.'));
    const documented = [...section.matchAll(/^\| `([a-z_]+)` \|/gm)].map((m) => m[1]);
    assert.equal(documented.length, 12);
    assert.deepEqual([...ENVELOPE_FIELDS], documented);
  });

  it('truncates the largest strings of an over-long line instead of dropping it', async () => {
    const dir = tempDir();
    const log = await EventLog.open({ dir, jobId: 'job-big', maxLineBytes: 4096 });
    const receipt = await log.append({
      event_type: 'agent_failed',
      agent_id: 'a',
      data: { error: 'E'.repeat(20_000), retry_eligible: true },
      meta: { note: 'short' },
    });
    await log.close();
    const file = segmentFiles(path.join(dir, 'job-big'))[0] as string;
    const [line] = rawLines(file);
    assert.ok(
      Buffer.byteLength(line as string) <= 4096,
      `line is ${Buffer.byteLength(line as string)} bytes`,
    );
    const record = JSON.parse(line as string);
    assert.equal(record.seq, receipt.seq);
    assert.match(record.data.error, /^E+…\[truncated 20\.0 KB\]$/);
    assert.equal(record.meta.note, 'short', 'small strings are left alone');
    assert.ok(fs.statSync(file).size > 0);
  });
});

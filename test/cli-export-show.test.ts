import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { EventLog } from '../src/index.js';
import { ENVELOPE_FIELDS } from '../src/format/schema/envelope.js';
import { progressEvent, rawLines, ROOT, runCli, segmentFiles, tempDir } from './helpers.js';

const BASIC = path.join(ROOT, 'fixtures', 'basic');
type Rec = Record<string, unknown> & { seq: number; id: string; data: Record<string, unknown> };
const fixture = (): Rec[] =>
  rawLines(segmentFiles(path.join(BASIC, 'job-basic'))[0] as string).map((l) => JSON.parse(l) as Rec);

/** An RFC 4180 reader written for the test, independent of the exporter. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted && c === '"' && text[i + 1] === '"') {
      field += '"';
      i++;
    } else if (c === '"') {
      quoted = !quoted;
    } else if (!quoted && c === ',') {
      row.push(field);
      field = '';
    } else if (!quoted && c === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else {
      field += c;
    }
  }
  assert.equal(field + row.join(''), '', 'the last record ends in CRLF');
  return rows;
}

async function logWithAwkwardText(): Promise<string> {
  const dir = tempDir();
  const log = await EventLog.open({ dir, jobId: 'awkward' });
  await log.append({
    event_type: 'agent_failed',
    agent_id: 'agent-1',
    data: { item_id: 'item-1', error: 'cannot parse "a,b"\nline 2 | column 3', retry_eligible: false },
  });
  await log.append({ event_type: 'deploy_finished', data: { target: { region: 'eu', hosts: ['a', 'b'] } } });
  await log.close();
  return dir;
}

describe('events export', () => {
  it('csv: a header of envelope and data columns, one row per event, values as stored', async () => {
    const run = await runCli(['export', '--dir', BASIC, '--format', 'csv']);
    assert.equal(run.code, 0, run.stderr);
    const [header, ...rows] = parseCsv(run.stdout);
    // The envelope's fields in order, but `data`, which has its own columns.
    assert.deepEqual(
      header?.slice(0, 11),
      ENVELOPE_FIELDS.filter((f) => f !== 'data'),
    );
    const records = fixture();
    assert.equal(rows.length, records.length);
    const col = (name: string) => (header as string[]).indexOf(name);
    rows.forEach((row, i) => {
      const r = records[i] as Rec;
      assert.equal(row.length, header?.length);
      assert.equal(row[col('id')], r.id);
      assert.equal(row[col('seq')], String(r.seq));
      for (const [key, value] of Object.entries(r.data)) {
        if (typeof value === 'object' && value !== null && !Array.isArray(value)) continue;
        const expected = typeof value === 'string' ? value : JSON.stringify(value);
        assert.equal(row[col(`data.${key}`)], expected, `row ${i + 1} data.${key}`);
      }
    });
    assert.ok(col('data.config.agents') > 0, 'nested data is flattened to dotted columns');
  });

  it('csv and markdown quote and escape what would break them', async () => {
    const dir = await logWithAwkwardText();
    const csv = await runCli(['export', '--dir', dir, '--format', 'csv']);
    const [header, failed, custom] = parseCsv(csv.stdout) as string[][];
    assert.equal(failed?.[header?.indexOf('data.error') ?? -1], 'cannot parse "a,b"\nline 2 | column 3');
    assert.equal(custom?.[header?.indexOf('data.target.region') ?? -1], 'eu');
    assert.equal(custom?.[header?.indexOf('data.target.hosts') ?? -1], '["a","b"]');
    const md = await runCli(['export', '--dir', dir, '--format', 'markdown']);
    const lines = md.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 4, 'a header, a rule and one line per event');
    // The details text is error="..." (JSON-quoted); backslashes and pipes are escaped for Markdown.
    assert.ok(lines[2]?.includes(String.raw`error="cannot parse \\"a,b\\"\\nline 2 \| column 3"`), lines[2]);
    for (const line of lines) assert.equal(line.split(/(?<!\\)\|/).length, 9, line);
  });

  it('json is one array of the records; jsonl the stored lines; filters apply', async () => {
    const json = await runCli(['export', '--dir', BASIC, '--format', 'json']);
    assert.deepEqual(JSON.parse(json.stdout), fixture());
    const jsonl = await runCli(['export', '--dir', BASIC, '--kind', 'agent_failed']);
    const expected = rawLines(segmentFiles(path.join(BASIC, 'job-basic'))[0] as string).filter((l) =>
      l.includes('"event_type":"agent_failed"'),
    );
    assert.equal(jsonl.stdout, expected.join('\n') + '\n');
    // A type the log could hold but does not (a name that exists nowhere is a usage error, exit 2).
    const none = await runCli(['export', '--dir', BASIC, '--format', 'json', '--kind', 'job_failed']);
    assert.deepEqual(JSON.parse(none.stdout), []);
  });

  it('--output writes the file whole, and leaves an existing file alone when the export fails', async () => {
    const dir = tempDir();
    const out = path.join(dir, 'report.csv');
    const ok = await runCli(['export', '--dir', BASIC, '--format', 'csv', '--output', out]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, '');
    assert.equal(ok.stderr, `wrote ${fixture().length} events to ${out}\n`);
    assert.equal(parseCsv(fs.readFileSync(out, 'utf8')).length, fixture().length + 1);

    fs.writeFileSync(out, 'old');
    const missing = await runCli(['export', '--dir', BASIC, '--job', 'no-such-job', '--output', out]);
    assert.equal(missing.code, 3);
    assert.equal(fs.readFileSync(out, 'utf8'), 'old');
    assert.deepEqual(fs.readdirSync(dir), ['report.csv'], 'no temporary file left behind');

    const badFormat = await runCli(['export', '--dir', BASIC, '--format', 'xml']);
    assert.equal(badFormat.code, 2);
    assert.match(badFormat.stderr, /--format takes one of jsonl, json, csv, markdown, not "xml"/);
  });
});

describe('events show', () => {
  it('finds an event by seq, stream:seq or id; --json is the record', async () => {
    const records = fixture();
    const target = records[40] as Rec;
    for (const ref of [String(target.seq), `main:${target.seq}`, target.id]) {
      const run = await runCli(['show', '--dir', BASIC, 'job-basic', ref, '--json']);
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(JSON.parse(run.stdout), target, ref);
    }
    const pretty = await runCli(['show', '--dir', BASIC, 'job-basic', target.id]);
    assert.match(pretty.stdout, /^job-basic main:41 /);
    assert.match(pretty.stdout, /prev {12}\S+\n {18}hash of the previous line/);
  });

  it('asks which stream when a seq is in several, and names what is missing', async () => {
    const dir = tempDir();
    for (const stream of ['main', 'other']) {
      const log = await EventLog.open({ dir, jobId: 'two', stream });
      await log.append(progressEvent(1));
      await log.close();
    }
    const ambiguous = await runCli(['show', '--dir', dir, 'two', '1']);
    assert.equal(ambiguous.code, 2);
    assert.match(
      ambiguous.stderr,
      /seq 1 is in more than one stream of job two: say which, e.g. main:1, other:1/,
    );
    const other = await runCli(['show', '--dir', dir, 'two', 'other:1', '--json']);
    assert.equal(JSON.parse(other.stdout).stream, 'other');
    for (const [args, message] of [
      [['two', '2'], /job two has no event with seq 2/],
      [['two', 'third:1'], /job two has no stream third/],
      [['nope', '1'], /no job nope/],
      [['two', '0190a0b0-0000-7000-8000-000000000000'], /job two has no event with id/],
    ] as const) {
      const run = await runCli(['show', '--dir', dir, ...args]);
      assert.equal(run.code, 3, run.stderr);
      assert.match(run.stderr, message);
    }
    const bad = await runCli(['show', '--dir', dir, 'two', 'a b']);
    assert.equal(bad.code, 2);
  });
});

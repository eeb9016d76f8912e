import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ROOT, runCli } from './helpers.js';

/**
 * The human outputs, pinned byte for byte (TZ=UTC, NO_COLOR=1). After an intended change of output,
 * regenerate with `UPDATE_GOLDEN=1 npm test` and review the diff of test/golden/.
 */
const GOLDEN = path.join(ROOT, 'test', 'golden');
const BASIC = path.join(ROOT, 'fixtures', 'basic');
const DAMAGED = path.join(ROOT, 'fixtures', 'damaged');
const INSIGHT = path.join(ROOT, 'fixtures', 'insight');

const cases: { name: string; args: string[]; stderr?: RegExp }[] = [
  { name: 'query-pretty', args: ['query', '--dir', BASIC, '-o', 'pretty'] },
  {
    name: 'query-table',
    args: ['query', '--dir', BASIC, '-o', 'table', '--kind', 'agent_*', '--limit', '25'],
  },
  { name: 'query-table-failures', args: ['query', '--dir', BASIC, '-o', 'table', '--severity', 'warn'] },
  { name: 'tail-pretty', args: ['tail', '--dir', BASIC, '-n', '5', '-o', 'pretty'] },
  {
    name: 'query-damaged-pretty',
    args: ['query', '--dir', DAMAGED, '-o', 'pretty'],
    stderr: /^warning: skipped 3 corrupt lines in job-damaged \(run 'events verify --job job-damaged'\)\n$/,
  },
  { name: 'show', args: ['show', '--dir', BASIC, 'job-basic', '13'] },
  {
    name: 'export-markdown',
    args: ['export', '--dir', BASIC, '--format', 'markdown', '--kind', 'agent_failed'],
  },
  { name: 'export-csv', args: ['export', '--dir', BASIC, '--format', 'csv', '--kind', 'agent_failed'] },
  { name: 'jobs', args: ['jobs', '--dir', BASIC] },
  { name: 'replay', args: ['replay', '--dir', BASIC, '--job', 'job-basic'] },
  { name: 'timeline', args: ['timeline', '--dir', BASIC, '--job', 'job-basic', '--width', '60'] },
  { name: 'timeline-retry', args: ['timeline', '--dir', INSIGHT, '--job', 'job-retry-ok', '--width', '40'] },
  { name: 'stats', args: ['stats', '--dir', BASIC] },
  { name: 'stats-all', args: ['stats', '--dir', INSIGHT] },
  { name: 'errors', args: ['errors', '--dir', INSIGHT] },
];

describe('golden outputs', () => {
  for (const { name, args, stderr } of cases) {
    it(`events ${args.filter((a) => ![BASIC, DAMAGED, INSIGHT, '--dir'].includes(a)).join(' ')}`, async () => {
      const run = await runCli(args);
      assert.equal(run.code, 0, run.stderr);
      if (stderr === undefined) assert.equal(run.stderr, '');
      else assert.match(run.stderr, stderr);
      const file = path.join(GOLDEN, `${name}.txt`);
      if (process.env.UPDATE_GOLDEN === '1') fs.writeFileSync(file, run.stdout);
      assert.equal(run.stdout, fs.readFileSync(file, 'utf8'), `differs from test/golden/${name}.txt`);
    });
  }
});

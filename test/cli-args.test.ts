import assert from 'node:assert/strict';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { main } from '../src/cli/main.js';
import { Output } from '../src/cli/io.js';
import { createProgram } from '../src/cli/program.js';
import { ROOT, runCli } from './helpers.js';

const BASIC = path.join(ROOT, 'fixtures', 'basic');

/** Values no option accepts, for the options that take a value of a form. */
const BAD_VALUES: Record<string, string> = {
  '--since': 'the day after tomorrow',
  '--until': 'someday',
  '--severity': 'loud',
  '--limit': '-3',
  '--last': 'many',
  '--lines': 'ten',
  '--output': 'xml',
  '--format': 'xml',
  '--grep': '(unclosed',
  '--where': 'no-equals-sign',
  '--after-cursor': 'garbage',
  '--agents': '0',
  '--items': 'lots',
  '--fail-rate': '2',
  '--seed': '-1',
  '--speed': 'fast',
  '--durability': 'sometimes',
  '--older-than': 'long ago',
  '--max-size': 'big',
  '--keep-jobs': 'all',
  '--max-events': '0',
  '--width': '3',
  '--expect-head': 'main=nothex',
  '--status': 'sleeping',
  '--wait': 'forever',
  '--data': '{not json',
};

async function run(args: string[]): Promise<{ code: number; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let err = '';
  stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  stdout.resume();
  const code = await main(args, { stdout, stderr, env: { NO_COLOR: '1', TZ: 'UTC' } });
  return { code, stderr: err };
}

async function commands() {
  const program = await createProgram(
    new Output({ stdout: new PassThrough(), stderr: new PassThrough(), env: {} }),
  );
  return program.commands.map((c) => ({
    name: c.name(),
    args: c.registeredArguments.filter((a) => a.required).map(() => 'job-basic'),
    options: c.options.filter((o) => o.long !== undefined && o.long !== '--dir'),
    required: c.options.filter((o) => o.mandatory).map((o) => [o.long as string, 'job-basic']),
  }));
}

describe('bad arguments, for every command', () => {
  it('an unknown flag exits 2 with one line naming it', async () => {
    for (const c of await commands()) {
      const result = await run([c.name, ...c.args, ...c.required.flat(), '--no-such-flag']);
      assert.equal(result.code, 2, c.name);
      assert.match(result.stderr, /^error: unknown option '--no-such-flag'/, c.name);
    }
  });

  it('a flag without its value exits 2 naming the flag', async () => {
    for (const c of await commands()) {
      for (const option of c.options.filter((o) => o.required)) {
        const result = await run([c.name, ...c.args, option.long as string]);
        assert.equal(result.code, 2, `${c.name} ${option.long}`);
        assert.ok(
          result.stderr.includes(option.long as string),
          `${c.name} ${option.long}: ${result.stderr}`,
        );
      }
    }
  });

  it('a bad value exits 2 with one line naming the flag and the value', async () => {
    let tried = 0;
    for (const c of await commands()) {
      for (const option of c.options) {
        const bad = BAD_VALUES[option.long as string];
        // export --output is a file name, not a format: any name is one.
        if (bad === undefined || !option.required || (c.name === 'export' && option.long === '--output'))
          continue;
        const args = [c.name, ...c.args, '--dir', BASIC, ...c.required.flat(), option.long as string, bad];
        const result = await run(args);
        tried++;
        assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
        assert.equal(result.stderr.trim().split('\n').length, 1, `${args.join(' ')}: one line`);
        assert.ok(
          result.stderr.includes(option.long as string) ||
            result.stderr.includes(option.long?.slice(2) as string),
          `${args.join(' ')}: ${result.stderr}`,
        );
      }
    }
    assert.ok(tried > 30, `${tried} bad values tried`);
  });

  it('the same through bin/events, as a user meets it', async () => {
    const result = await runCli(['query', '--dir', BASIC, '--since', 'the day after tomorrow']);
    assert.equal(result.code, 2);
    assert.equal(
      result.stderr,
      'events: --since: cannot read "the day after tomorrow" as a time (try 15m, 2h, 1d, today, 2026-11-22, 2026-11-22T14:00, or epoch seconds)\n',
    );
  });
});

describe('commands are loaded lazily, help is whole', () => {
  const output = () => new Output({ stdout: new PassThrough(), stderr: new PassThrough(), env: {} });

  it('a run loads only the command it names (after program flags, through an alias or help)', async () => {
    for (const [args, loaded] of [
      [['stats', '--json'], 'stats'],
      [['--no-color', 'show', 'j', '1'], 'show'],
      [['ls'], 'jobs'],
      [['help', 'trace'], 'trace'],
    ] as const) {
      const program = await createProgram(output(), args);
      const withOptions = program.commands.filter((c) => c.options.length > 0).map((c) => c.name());
      assert.deepEqual(withOptions, [loaded], args.join(' '));
    }
    const none = await createProgram(output(), ['--version']);
    assert.equal(none.commands.filter((c) => c.options.length > 0).length, 0);
  });

  it('events --help lists every command with its arguments; events help CMD shows its options', async () => {
    const all = await commands();
    const help = await runCli(['--help']);
    assert.equal(help.code, 0);
    for (const c of all)
      assert.match(help.stdout, new RegExp(`^  ${c.name}(\\|\\w+)? \\[options\\]`, 'm'), c.name);
    assert.match(help.stdout, /^ {2}show \[options\] <job> <event> /m);
    const show = await runCli(['help', 'show']);
    assert.equal(show.code, 0);
    assert.match(show.stdout, /Usage: events show \[options\] <job> <event>/);
    assert.match(show.stdout, /--json/);
    const typo = await runCli(['stast']);
    assert.equal(typo.code, 2);
    assert.match(typo.stderr, /Did you mean stats\?/);
  });
});

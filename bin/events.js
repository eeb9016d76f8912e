#!/usr/bin/env -S node --max-semi-space-size=4
// A small young generation keeps a streaming read of any size near 100 MB RSS at no cost in speed
// (docs/benchmarks.md); the default lets it grow by ~50 MB of garbage.
import module from 'node:module';

// Start-up (docs/benchmarks.md): the CLI is one bundle (dist/bin, made by `npm run build`) whose
// commands load lazily, and where the runtime keeps compiled code between runs (Node 22.1 and newer),
// it does so for this one too.
module.enableCompileCache?.();
const { main } = await import('../dist/bin/main.js');

process.exitCode = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  // Only `events ingest` reads it; touching process.stdin costs start-up time.
  get stdin() {
    return process.stdin;
  },
  env: process.env,
});

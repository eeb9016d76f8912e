import { readFileSync } from 'node:fs';

/** The package's version, from its package.json (two folders up from src/cli, dist/cli and dist/bin alike). */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

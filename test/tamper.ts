import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { EventLog } from '../src/index.js';
import { progressEvent, segmentFiles } from './helpers.js';

export type TamperKind =
  | 'edit'
  | 'delete'
  | 'insert'
  | 'swap'
  | 'drop-segment'
  | 'truncate-gzip'
  | 'drop-newest-segment'
  | 'drop-stream'
  | 'drop-manifest'
  | 'segment-to-dir';
export const TAMPER_KINDS: TamperKind[] = [
  'edit',
  'delete',
  'insert',
  'swap',
  'drop-segment',
  'truncate-gzip',
  'drop-newest-segment',
  'drop-stream',
  'drop-manifest',
  'segment-to-dir',
];

/** Tamperings that remove data whole: verify must name them without a head kept elsewhere (issue 11). */
export const REMOVALS: TamperKind[] = [
  'drop-newest-segment',
  'drop-stream',
  'drop-manifest',
  'segment-to-dir',
];

/** A job of several segments (the older ones sealed and compressed) to tamper with. */
export async function tamperableLog(dir: string): Promise<void> {
  const log = await EventLog.open({ dir, jobId: 'audit', rotateBytes: 6000, indexBlockBytes: 1500 });
  for (let i = 0; i < 150; i++) await log.append(progressEvent(i, `agent-${i % 3}`));
  await log.close();
  // One sealed segment left plain, so that edits of plain sealed bytes are tried too.
  const jobDir = path.join(dir, 'audit');
  const gz = segmentFiles(jobDir).find((f) => f.endsWith('.gz')) as string;
  fs.writeFileSync(gz.slice(0, -3), zlib.gunzipSync(fs.readFileSync(gz)));
  fs.rmSync(gz);
}

/** Where a tampering was made: the segment, and the seq of the line it touched. */
export interface Tampered {
  kind: TamperKind;
  segment: string;
  seq: number;
}

/** Makes one random tampering of a kind in the job's segments. */
export function tamper(jobDir: string, kind: TamperKind, random: () => number): Tampered {
  const files = segmentFiles(jobDir);
  const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)] as T;
  const plain = files.filter((f) => !f.endsWith('.gz'));
  if (kind === 'drop-segment') {
    const middle = pick(files.slice(1, -1));
    fs.rmSync(middle);
    return { kind, segment: path.basename(files[files.indexOf(middle) + 1] as string), seq: baseSeq(middle) };
  }
  if (kind === 'drop-newest-segment' || kind === 'drop-stream') {
    const newest = files.at(-1) as string;
    for (const file of kind === 'drop-stream' ? files : [newest]) {
      fs.rmSync(file);
      fs.rmSync(file.replace(/\.jsonl(\.gz)?$/, '.idx'), { force: true });
    }
    return { kind, segment: path.basename(newest).replace(/\.gz$/, ''), seq: baseSeq(newest) };
  }
  if (kind === 'drop-manifest') {
    fs.rmSync(path.join(jobDir, 'LOG.json'));
    return { kind, segment: 'LOG.json', seq: 0 };
  }
  if (kind === 'segment-to-dir') {
    const file = pick(files);
    fs.rmSync(file);
    fs.mkdirSync(file);
    return { kind, segment: path.basename(file), seq: baseSeq(file) };
  }
  if (kind === 'truncate-gzip') {
    const gz = pick(files.filter((f) => f.endsWith('.gz')));
    const bytes = fs.readFileSync(gz);
    fs.writeFileSync(gz, bytes.subarray(0, 10 + Math.floor(random() * (bytes.length - 20))));
    return { kind, segment: path.basename(gz), seq: baseSeq(gz) };
  }
  const file = pick(plain);
  const lines = fs.readFileSync(file, 'utf8').split('\n').slice(0, -1);
  const i = Math.floor(random() * lines.length);
  const seqOf = (line: string) => Number(/^\{"seq":(\d+),/.exec(line)?.[1]);
  const seq = seqOf(lines[i] as string);
  switch (kind) {
    case 'edit': {
      const line = lines[i] as string;
      const at = Math.floor(random() * line.length);
      const old = line[at] as string;
      const replacement = old === '7' ? '8' : /[0-9]/.test(old) ? '7' : old === 'a' ? 'b' : 'a';
      lines[i] = line.slice(0, at) + replacement + line.slice(at + 1);
      break;
    }
    case 'delete':
      lines.splice(i, 1);
      break;
    case 'insert':
      lines.splice(
        i,
        0,
        random() < 0.5 ? (lines[Math.floor(random() * lines.length)] as string) : '{"seq":1,"forged":true}',
      );
      break;
    case 'swap': {
      const j = i === lines.length - 1 ? i - 1 : i + 1;
      [lines[i], lines[j]] = [lines[j] as string, lines[i] as string];
      return write(file, lines, {
        kind,
        segment: path.basename(file),
        seq: Math.min(seq, seqOf(lines[i] as string)),
      });
    }
  }
  return write(file, lines, { kind, segment: path.basename(file), seq });
}

function write(file: string, lines: string[], tampered: Tampered): Tampered {
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return tampered;
}

function baseSeq(file: string): number {
  return Number(/-(\d{20})\.jsonl/.exec(file)?.[1]);
}

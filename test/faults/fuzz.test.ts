import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeCursor,
  EventsError,
  parseRecord,
  serializeRecord,
  type EventRecord,
} from '../../src/index.js';

const INPUTS = Number(process.env.MMM_FUZZ ?? 100_000);

const valid: EventRecord = {
  seq: 12,
  ts: '2026-11-22T10:00:00.123456Z',
  id: '01a2045c-ac3c-76c8-ad60-aab8c2a3982a',
  job_id: 'job-1',
  stream: 'main',
  event_type: 'agent_failed',
  severity: 'error',
  agent_id: 'agent-1',
  correlation_id: 'job-1/item-1',
  data: { item_id: 'item-1', error: 'boom "x" \\ é', retry_eligible: true },
  prev: '0123456789abcdef0123456789abcdef',
};

function generator(seed: number) {
  let state = seed;
  const random = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const int = (n: number) => Math.floor(random() * n);
  const line = serializeRecord(valid);
  const mutations = [
    () => line.slice(0, int(line.length)),
    () => line.slice(0, int(line.length)) + String.fromCharCode(int(0x10000)) + line.slice(int(line.length)),
    () => {
      const at = int(line.length);
      return line.slice(0, at) + String.fromCharCode(int(128)) + line.slice(at + 1);
    },
    () => Buffer.from(Array.from({ length: int(200) }, () => int(256))).toString('utf8'),
    () => '['.repeat(int(20_000)) + ']'.repeat(int(20_000)),
    () => JSON.stringify([1, 'a', null, { seq: 'x' }][int(4)]),
    () =>
      line.replace(
        /"seq":12/,
        `"seq":${['-1', '1e400', '1.5', '"12"', 'null', '9007199254740993'][int(6)] ?? '0'}`,
      ),
    () =>
      line.replace(
        /"ts":"[^"]+"/,
        `"ts":${['1', '"yesterday"', '"2026-13-40T99:99:99.999999Z"', 'null'][int(4)] ?? '0'}`,
      ),
    () => line.replace(/"data":\{[^}]*\}/, `"data":${'{"a":'.repeat(int(5000))}1${'}'.repeat(int(5000))}`),
    () => line + line,
  ];
  return () => (mutations[int(mutations.length)] as () => string)();
}

describe('fault: hostile input', () => {
  it(`the line parser takes ${INPUTS} generated lines without throwing: a record or undefined`, () => {
    const next = generator(1);
    let records = 0;
    for (let i = 0; i < INPUTS; i++) {
      const input = next();
      const result = parseRecord(input);
      if (result !== undefined) {
        records++;
        assert.ok(Number.isSafeInteger(result.seq) && result.seq >= 1, input.slice(0, 80));
        assert.equal(typeof result.ts, 'string');
      }
    }
    assert.ok(records > 0 && records < INPUTS, `${records} parsed as records`);
  });

  it(`the cursor decoder takes ${INPUTS} generated cursors: a cursor or a usage error, nothing else`, () => {
    let state = 3;
    const random = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const int = (n: number) => Math.floor(random() * n);
    const shapes = [
      () => ({ 'job-1': { log: 'l', streams: { main: int(100) } } }),
      () => ({ 'job-1': { log: int(5), streams: [] } }),
      () => ({ '../x': { log: 'l', streams: {} } }),
      () => ({ j: { log: 'l', streams: { main: -1 } } }),
      () => [1, 2],
      () => 'text',
      () => null,
      () => ({ j: { log: 'l', streams: { 'a/b': 1 } } }),
    ];
    let accepted = 0;
    for (let i = 0; i < INPUTS; i++) {
      const kind = int(3);
      const text =
        kind === 0
          ? 'c1.' +
            Buffer.from(JSON.stringify((shapes[int(shapes.length)] as () => unknown)())).toString('base64url')
          : kind === 1
            ? 'c1.' + Buffer.from(Array.from({ length: int(60) }, () => int(256))).toString('base64url')
            : String.fromCharCode(...Array.from({ length: int(40) }, () => int(0x3000)));
      try {
        decodeCursor(text);
        accepted++;
      } catch (err) {
        assert.ok(
          err instanceof EventsError && err.kind === 'usage',
          `${String(err)} for ${text.slice(0, 60)}`,
        );
      }
    }
    assert.ok(accepted > 0, 'valid cursors are accepted');
  });
});

/**
 * Characters that must not reach a terminal as they are: C0 controls (a newline would forge a line,
 * ESC starts SGR, OSC and other sequences), DEL, C1 controls (U+009B is a one-character CSI), the
 * line and paragraph separators, and the bidi marks, embeddings, overrides and isolates, which reorder
 * what follows them on screen.
 */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** The escapes JSON uses; any other unsafe character becomes `\uXXXX`, as JSON writes C0. */
const SHORT: Record<string, string> = { '\b': '\\b', '\t': '\\t', '\n': '\\n', '\f': '\\f', '\r': '\\r' };

/** Text coloured as one run, as chalk colours it: SGR sequences, text without ESC, SGR sequences. */
// eslint-disable-next-line no-control-regex
const COLOURED = /^((?:\u001b\[[0-9;]*m)+)([^\u001b]*)((?:\u001b\[[0-9;]*m)+)$/;

/**
 * Text from event data (errors, agent, item and correlation ids, anything a producer wrote) made safe
 * for human output: every unsafe character becomes a visible escape, the way JSON writes it
 * (`\n`, `\u001b`, `\u009b`, `\u202e`), so one event stays on its line and cannot colour, retitle or
 * reorder the terminal. Text without such characters is returned as it is; machine outputs (`--json`,
 * jsonl, csv) never go through this.
 *
 * `keepColour` is for text that may already be coloured (a table cell): SGR sequences (`ESC [ ... m`)
 * that wrap the whole text are kept, as the CLI's own; any other is escaped. Data should go through
 * `visible` before it is coloured, so that a string of data is never taken for the CLI's colour.
 */
export function visible(text: string, options: { keepColour?: boolean } = {}): string {
  // Data is not validated on read: a hand-written log may hold a number where a string belongs.
  if (typeof text !== 'string') return visible(String(text), options);
  const coloured = options.keepColour === true ? COLOURED.exec(text) : null;
  if (coloured !== null) return `${coloured[1] ?? ''}${visible(coloured[2] ?? '')}${coloured[3] ?? ''}`;
  return text.replace(UNSAFE, (c) => SHORT[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Messages (errors, usage) that may quote what a user or a file gave: each line made visible. */
export function visibleLines(text: string): string {
  return text
    .split('\n')
    .map((line) => visible(line))
    .join('\n');
}

/**
 * A message of commander's, ending with a newline: made visible, newlines included (a refused argument
 * may hold one), except the one commander puts before its suggestion, "(Did you mean …?)".
 */
export function visibleMessage(text: string): string {
  const body = text.endsWith('\n') ? text.slice(0, -1) : text;
  const end = body.length === text.length ? '' : '\n';
  return (
    body
      .split(/\n(?=\(Did you mean [^\n]*\?\)$)/)
      .map((part) => visible(part))
      .join('\n') + end
  );
}

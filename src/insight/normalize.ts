/**
 * An error message with what varies between occurrences masked, so that failures group by cause:
 * UUIDs, hex hashes, paths, numbers and quoted strings become placeholders.
 */
export function normalizeMessage(message: string): string {
  return message
    .replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<id>')
    .replace(/\b[0-9a-f]{7,64}\b/gi, (m) => (/\d/.test(m) && /[a-f]/i.test(m) ? '<hash>' : m))
    .replace(/(?:[A-Za-z]:)?(?:[\w.-]*\/)+[\w.-]+/g, '<path>')
    .replace(/"[^"]*"|'[^']*'/g, '<str>')
    .replace(/\b\d+(?:\.\d+)?(?:ms|s|m|h|MB|GB|KB|%)?\b/g, '<n>')
    .replace(/\s+/g, ' ')
    .trim();
}

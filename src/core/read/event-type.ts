/** The CLI accepts `AgentFailed`, `agent_failed` and `agent-failed`; on disk it is `agent_failed`. */
export function normalizeEventType(name: string): string {
  return name
    .trim()
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/-/g, '_')
    .toLowerCase();
}

/** A --kind matcher: an exact type, or a prefix such as `agent_*` (or `Agent*`). */
export function kindMatcher(kinds: readonly string[]): ((type: string) => boolean) | undefined {
  if (kinds.length === 0) return undefined;
  const exact = new Set<string>();
  const prefixes: string[] = [];
  for (const kind of kinds) {
    if (kind.endsWith('*')) prefixes.push(normalizeEventType(kind.slice(0, -1)));
    else exact.add(normalizeEventType(kind));
  }
  return (type) => exact.has(type) || prefixes.some((p) => type.startsWith(p));
}

import { z } from 'zod';

export const SEVERITIES = ['debug', 'info', 'warn', 'error', 'fatal'] as const;
export type Severity = (typeof SEVERITIES)[number];
export const severitySchema = z.enum(SEVERITIES);

export function severityRank(severity: Severity): number {
  return SEVERITIES.indexOf(severity);
}

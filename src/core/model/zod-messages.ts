import type { z } from 'zod';

/** "field.path: message" for one zod issue, readable by someone who only sees the file. */
export function formatZodIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.length > 0 ? issue.path.map(String).join('.') : '(top level)';
  return `field ${path}: ${issue.message}`;
}

export function formatZodError(error: z.ZodError, max = 3): string {
  const parts = error.issues.slice(0, max).map(formatZodIssue);
  if (error.issues.length > max) parts.push(`and ${error.issues.length - max} more`);
  return parts.join('; ');
}

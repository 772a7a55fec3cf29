/** One thing the daemon did (or failed to do), as printed on stderr. */
export interface DaemonLogEntry {
  at: string;
  run: string;
  action: string;
  ticket_id?: string;
  worker_id?: string;
  file?: string;
  note?: string;
  error?: { code: string; message: string };
}

export type DaemonLogger = (entry: DaemonLogEntry) => void;

/** A human line: `<at> <run> <action> <ticket> [worker] <note>`; or one JSON object per line. */
export function formatLogLine(entry: DaemonLogEntry, json: boolean): string {
  if (json) return `${JSON.stringify(entry)}\n`;
  const parts = [entry.at, entry.run === '' ? '-' : entry.run, entry.action];
  if (entry.ticket_id) parts.push(entry.ticket_id);
  if (entry.worker_id) parts.push(`[${entry.worker_id}]`);
  if (entry.file && !entry.ticket_id) parts.push(entry.file);
  if (entry.note) parts.push(`- ${entry.note}`);
  if (entry.error) parts.push(`- ${entry.error.code}: ${entry.error.message}`);
  return `${parts.join(' ')}\n`;
}

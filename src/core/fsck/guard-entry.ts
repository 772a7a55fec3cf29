import type { FsckSession } from './fsck-session.js';

/**
 * Check (or repair) one entry; an unexpected error becomes a problem line naming the entry,
 * and fsck goes on with the next one. Why: one odd entry (EACCES, EIO, a file swapped mid-check)
 * used to abort the whole fsck, so nothing after it was checked or repaired.
 */
export async function guardEntry(s: FsckSession, file: string, ticketId: string | undefined, step: () => Promise<void>): Promise<void> {
  try {
    await step();
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    s.problems.push({ kind: 'check_failed', file, ...(ticketId !== undefined ? { ticket_id: ticketId } : {}), message: `${file}: could not be checked: ${why}` });
  }
}

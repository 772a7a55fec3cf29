/**
 * One error class for every failure a user can meet. The CLI maps `code` to an exit code
 * (see EXIT_CODES and the README's "Errors" table).
 */
export const ERROR_CODES = {
  USAGE: 2,
  INVALID_ID: 2,
  INVALID_INPUT: 2,
  INVALID_PIPELINE: 2,
  NOTHING_CLAIMABLE: 3,
  NOT_FOUND: 4,
  RUN_NOT_FOUND: 4,
  LEASE_LOST: 5,
  WRONG_STATE: 6,
  RUN_EXISTS: 7,
  DAEMON_RUNNING: 8,
  FSCK_PROBLEMS: 9,
  IO_ERROR: 10,
  CORRUPT_TICKET: 11,
  NOT_HOLDER: 12,
  ALREADY_DONE: 13,
  UNSAFE_PATH: 14,
  PAUSED: 15,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface TqErrorDetails {
  /** The file the problem is about, when there is one. */
  file?: string;
  /** The field inside that file, when there is one. */
  field?: string;
  /** What the user can do about it. */
  hint?: string;
  /** Extra machine-readable data (e.g. where a rejected output was kept). */
  data?: Record<string, unknown>;
  cause?: unknown;
}

export class TqError extends Error {
  readonly code: ErrorCode;
  readonly file: string | undefined;
  readonly field: string | undefined;
  readonly hint: string | undefined;
  readonly data: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, details: TqErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'TqError';
    this.code = code;
    this.file = details.file;
    this.field = details.field;
    this.hint = details.hint;
    this.data = details.data;
  }

  get exitCode(): number {
    return ERROR_CODES[this.code];
  }

  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      ...(this.file !== undefined ? { file: this.file } : {}),
      ...(this.field !== undefined ? { field: this.field } : {}),
      ...(this.hint !== undefined ? { hint: this.hint } : {}),
      ...(this.data !== undefined ? { data: this.data } : {}),
    };
  }
}

export function isTqError(err: unknown, code?: ErrorCode): err is TqError {
  return err instanceof TqError && (code === undefined || err.code === code);
}

/** Node's errno code of an fs error, or undefined. */
export function errnoCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

/** Wrap an unexpected fs failure in a TqError that names the file and the errno. */
export function ioError(err: unknown, action: string, file: string): TqError {
  if (err instanceof TqError) return err;
  const code = errnoCode(err) ?? 'UNKNOWN';
  const hints: Record<string, string> = {
    ENOSPC: 'the disk is full: free space, then re-run the command (it is safe to repeat)',
    EIO: 'the disk reported an I/O error: check the device, then run `tq fsck --repair`',
    EACCES: 'permission denied: check the owner and mode of the run directory',
    EPERM: 'operation not permitted: check the owner and mode of the run directory',
    EMFILE: 'too many open files: raise `ulimit -n` or run fewer workers per process',
    ENFILE: 'the system ran out of file handles: run fewer processes',
    EROFS: 'the filesystem is read-only',
    ELOOP: 'it is a symbolic link: ticketq never follows links inside a run (`tq fsck --repair` quarantines it)',
    EISDIR: 'it is a directory where a file belongs',
    EFTYPE: 'it is not a regular file (a FIFO, socket, device or directory named like a file): ticketq never reads one; `tq fsck` reports it',
    EFBIG: 'it is bigger than any file ticketq writes, so ticketq did not write it: move it out of the run',
  };
  // Why: EFTYPE and EFBIG are ours (fs-layer.ts), not the kernel's: say what they mean.
  const meaning: Record<string, string> = { EFTYPE: ' (not a regular file)', EFBIG: ' (over the size limit; reading stopped there)' };
  return new TqError('IO_ERROR', `${action} failed for ${file}: ${code}${meaning[code] ?? ''}`, {
    file,
    hint: hints[code] ?? 'run `tq fsck <run>` to check the run, then retry',
    cause: err,
  });
}

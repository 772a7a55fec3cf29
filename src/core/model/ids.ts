import { fillRandom, randomBytesOf, sha256Hex } from './lazy-crypto.js';
import { TqError } from './errors.js';

/**
 * Names that become path components. Everything a user, a worker or a ticket supplies goes
 * through one of these before it touches a path, so nothing can point outside the run.
 */
const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;
const STAGE_RE = /^[A-Za-z][A-Za-z0-9_]*$/;

export const MAX_RUN_ID = 100;
export const MAX_WORKER_ID = 64;
export const MAX_STAGE = 40;
export const MAX_TICKET_ID = 160;
/** A request id or file tag (`<worker>~<request_id>.json`, `<ticket-id>~<tag>.result.json`): a counter or a timestamp fits. */
export const MAX_TAG = 64;

/**
 * Suffixes the file-only protocol puts after a ticket id; ticket ids may not end with them.
 * store/run-names.ts derives from these which file names are not tickets.
 */
export const RESERVED_SUFFIXES = ['.result', '.error', '.heartbeat', '.release', '.reply', '.request'] as const;

export type IdKind = 'run id' | 'worker id' | 'ticket id' | 'stage' | 'request id' | 'file tag';

/**
 * Be forgiving about what agents paste (whitespace, quotes, a trailing `.json`), strict about
 * what reaches the filesystem.
 */
export function cleanId(raw: unknown, kind: IdKind): string {
  if (typeof raw !== 'string' && typeof raw !== 'number') {
    throw new TqError('INVALID_ID', `${kind} is missing`, { field: kind, hint: `pass a ${kind}` });
  }
  let text = String(raw).trim();
  if (/^(["'`]).*\1$/.test(text) && text.length >= 2) text = text.slice(1, -1).trim();
  // Why spelled here and not taken from store/run-names.ts (TICKET_SUFFIX): the model sits below the store.
  if (kind === 'ticket id' && text.endsWith('.json')) text = text.slice(0, -'.json'.length);
  validateId(text, kind);
  return text;
}

const MAX_ID_LENGTH: Readonly<Record<IdKind, number>> = { 'run id': MAX_RUN_ID, 'worker id': MAX_WORKER_ID, 'ticket id': MAX_TICKET_ID, stage: MAX_STAGE, 'request id': MAX_TAG, 'file tag': MAX_TAG };

export function validateId(text: string, kind: IdKind): void {
  const max = MAX_ID_LENGTH[kind];
  // Why the message is built only on failure: ids are validated several times per ticket moved.
  const fail = (why: string): never => {
    const shown = JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
    throw new TqError('INVALID_ID', `invalid ${kind} ${shown}: ${why}`, {
      field: kind,
      hint:
        kind === 'stage'
          ? 'stage names are letters, digits and _ , starting with a letter (e.g. parse, translate_fr)'
          : `use only ASCII letters, digits, '.', '_' and '-', not starting with '.', at most ${max} characters`,
    });
  };
  if (text.length === 0) fail('it is empty');
  if (text.length > max) fail(`it is longer than ${max} characters`);
  if (text.includes('\0')) fail('it contains a NUL byte');
  if (text.includes('/') || text.includes('\\')) fail('it contains a path separator');
  if (text.includes('..')) fail("it contains '..'");
  if (kind === 'stage') {
    if (!STAGE_RE.test(text)) fail('it has characters other than letters, digits and _');
    return;
  }
  if (text.startsWith('.')) fail("it starts with '.'");
  // eslint-disable-next-line no-control-regex
  if (/[^\x21-\x7e]/.test(text)) fail('it has spaces, control or non-ASCII characters (look-alike letters are refused)');
  if (!NAME_RE.test(text)) fail("it has characters other than letters, digits, '.', '_' and '-'");
  // Why: a worker id names the directory claimed/<worker-id>/, and the run's .gitignore has
  // `*.tmp`: git would silently leave out every ticket such a worker holds.
  if (kind === 'worker id' && text.endsWith('.tmp')) fail("it ends with '.tmp', which the run's .gitignore hides from git");
  // Why tags too: they come right before the file's kind (`<id>~<tag>.result.json`).
  if (kind !== 'run id' && kind !== 'worker id') for (const s of RESERVED_SUFFIXES) if (text.endsWith(s)) fail(`it ends with the reserved suffix ${s}`);
  if (kind === 'ticket id') {
    if (!text.includes('-')) fail('ticket ids look like <stage>-<suffix>');
  }
}

/** The stage a ticket id belongs to: the part before the first '-'. */
export function stageOfTicketId(ticketId: string): string {
  const i = ticketId.indexOf('-');
  return i < 0 ? ticketId : ticketId.slice(0, i);
}

function suffixOf(ticketId: string): string {
  const i = ticketId.indexOf('-');
  return i < 0 ? ticketId : ticketId.slice(i + 1);
}

let lastMs = 0;
let seq = 0;

/**
 * A new root ticket id: `<stage>-<time><seq>-<random>`. Time is base-36 milliseconds (fixed
 * width, so ids sort by creation), seq orders ids made in the same millisecond by this
 * process, and the random part keeps concurrent processes apart.
 */
export function newTicketId(stage: string, now: Date): string {
  const ms = now.getTime();
  if (ms === lastMs) seq += 1;
  else {
    lastMs = ms;
    seq = 0;
  }
  const time = ms.toString(36).padStart(9, '0');
  const counter = seq.toString(36).padStart(3, '0');
  const rand = random24().toString(36).padStart(5, '0');
  return `${stage}-${time}${counter}-${rand}`;
}

/** Random bytes drawn ahead (crypto-strength, like randomBytes), handed out 3 at a time. */
const randomPool = Buffer.alloc(3 * 1024);
let randomPoolAt = randomPool.length;

/**
 * A random 24-bit number from randomPool. Why a pool: randomBytes(3) per ticket id cost ~20 µs
 * (a synchronous call into OpenSSL and a new Buffer each time; measured in a create profile);
 * refilling 3 KB at once costs about the same, once per 1,024 ids.
 */
function random24(): number {
  if (randomPoolAt + 3 > randomPool.length) {
    fillRandom(randomPool);
    randomPoolAt = 0;
  }
  const n = randomPool.readUIntBE(randomPoolAt, 3);
  randomPoolAt += 3;
  return n;
}

/** An input batch id: `<time>-<random>` (the time and random parts of its tickets' ids). */
export function newBatchId(now: Date): string {
  return `${now.getTime().toString(36).padStart(9, '0')}-${randomBytesOf(3).readUIntBE(0, 3).toString(36).padStart(5, '0')}`;
}

/**
 * The id of item `index` of an input batch: `<stage>-<batch time><index>-<batch random>`.
 * Deterministic, so re-running an interrupted `tq create`/`tq add` of the same input re-derives
 * the same ids and the registry skips those already created; sortable by batch, then position.
 */
export function batchTicketId(stage: string, batchId: string, index: number): string {
  const [time, rand] = batchId.split('-');
  return `${stage}-${time}${index.toString(36).padStart(4, '0')}-${rand}`;
}

/** A short, stable digest used in derived names. */
export function shortHash(text: string, length = 10): string {
  return sha256Hex(text).slice(0, length);
}

/** ASCII slug of a dedupe key so that `ls` still tells a human which key a ticket is for. */
export function slugOf(text: string, max = 32): string {
  const slug = text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, max)
    .replace(/_+$/g, '');
  return slug.length > 0 ? slug : 'x';
}

export interface ChildIdParts {
  to: string;
  parentId: string;
  /** Index of the cascade rule; only part of the id when several rules feed the same stage. */
  ruleTag?: string;
  /** Position in the for_each array (unkeyed fan-out). */
  index?: number;
  /** Dedupe key value (keyed fan-out): the id then depends on the key alone. */
  key?: string;
}

/**
 * Deterministic child ids: re-running a cascade computes the same id, which the birth registry
 * then refuses to create twice.
 */
export function childTicketId(parts: ChildIdParts): string {
  if (parts.key !== undefined) {
    return `${parts.to}-k-${slugOf(parts.key)}-${shortHash(parts.key)}`;
  }
  let id = `${parts.to}-${suffixOf(parts.parentId)}`;
  if (parts.ruleTag !== undefined) id += `-${parts.ruleTag}`;
  if (parts.index !== undefined) id += `-${parts.index}`;
  if (id.length > MAX_TICKET_ID) id = `${parts.to}-h${shortHash(id, 24)}`;
  return id;
}

/** Random per process, so two processes' nonces never collide (drawn at the first nonce, not at import). */
let noncePrefix: string | undefined;
let nonceCounter = 0;

/**
 * A unique token for temp and in-flight file names: a per-process random prefix and a counter
 * (hex, so recovery's name patterns still match). Why not fresh random bytes per call: a
 * synchronous randomBytes costs ~20 µs, several times per ticket on the hot path.
 */
export function nonce(): string {
  noncePrefix ??= randomBytesOf(6).toString('hex');
  nonceCounter += 1;
  return `${noncePrefix}${nonceCounter.toString(16).padStart(4, '0')}`;
}

/**
 * Every file name inside a run, in one place: suffixes, the names built from validated ids, and
 * the one parser for each kind of name. Nothing else in ticketq spells a suffix or a name regexp.
 *
 *   <id>.json                           a ticket, in any state directory or registry/<stage>/
 *   claimed/<worker>/<id>.result.json   an agent's submit (file-only protocol)
 *   claimed/<worker>/<id>.heartbeat.json  an agent's lease extension
 *   claimed/<worker>/<id>.release.json  an agent's give-back
 *   claimed/<worker>/<id>.error.json    the daemon's answer to a refused agent file
 *   requests/<worker>.json              an agent's claim request
 *   requests/<worker>.reply.json        the daemon's answer to it
 *   moving/<id>~<n>.next.json|.prev.json  a fenced move in flight (protocol/move-ticket.ts)
 *   moving/<id>~<n>.new.json            a birth in flight (protocol/birth-ticket.ts)
 *   cascade/requested_by/<child>~<parent>.json  an extra parent of a de-duplicated child
 *   quarantine/<name>.why.json          why a file was quarantined
 *
 * Why one module: the copies of these regexps that used to live beside each reader had drifted
 * apart, so two parts of ticketq could disagree about what a file is.
 */

export const TICKET_SUFFIX = '.json';
export const WHY_SUFFIX = '.why.json';
export const REPLY_SUFFIX = '.reply.json';
export const ERROR_SUFFIX = '.error.json';

/** What an agent may write beside a ticket it holds, and what each one asks for. */
export const AgentFileKind = { result: 'result', heartbeat: 'heartbeat', release: 'release' } as const;
export type AgentFileKind = (typeof AgentFileKind)[keyof typeof AgentFileKind];

/** Moving-file kinds: a move's draft and fence, a birth's staged file. */
export const MovingKind = { next: 'next', prev: 'prev', new: 'new' } as const;
export type MovingKind = (typeof MovingKind)[keyof typeof MovingKind];

const AGENT_FILE_RE = /^(.+)\.(result|heartbeat|release)\.json$/;
const MOVING_RE = /^(.+)~([0-9a-f]+)\.(next|prev|new)\.json$/;
/** Suffixes that mark a name as something other than a ticket. */
const NOT_A_TICKET_RE = /\.(result|error|heartbeat|release|reply|request)$/;

export function ticketFileName(ticketId: string): string {
  return `${ticketId}${TICKET_SUFFIX}`;
}

/** The ticket id of a ticket file name, or undefined for a temp, agent, error, hidden or other file. */
export function ticketIdOfFileName(name: string): string | undefined {
  if (!name.endsWith(TICKET_SUFFIX) || name.startsWith('.')) return undefined;
  const id = name.slice(0, -TICKET_SUFFIX.length);
  if (id === '' || NOT_A_TICKET_RE.test(id)) return undefined;
  return id;
}

export function agentFileName(ticketId: string, kind: AgentFileKind): string {
  return `${ticketId}.${kind}.json`;
}

/** `<id>.result.json` and its kin: the raw ticket id as written (validate before use) and the kind. */
export function parseAgentFileName(name: string): { rawId: string; kind: AgentFileKind } | undefined {
  if (name.startsWith('.')) return undefined;
  const m = AGENT_FILE_RE.exec(name);
  return m ? { rawId: m[1] as string, kind: m[2] as AgentFileKind } : undefined;
}

export function errorFileName(rawTicketId: string): string {
  return `${rawTicketId}${ERROR_SUFFIX}`;
}

export function requestFileName(workerId: string): string {
  return `${workerId}${TICKET_SUFFIX}`;
}

export function replyFileName(workerId: string): string {
  return `${workerId}${REPLY_SUFFIX}`;
}

/** `requests/<worker>.json` → the raw worker id (validate before use); replies and hidden files → undefined. */
export function parseRequestFileName(name: string): string | undefined {
  if (name.startsWith('.') || !name.endsWith(TICKET_SUFFIX) || name.endsWith(REPLY_SUFFIX)) return undefined;
  return name.slice(0, -TICKET_SUFFIX.length);
}

export function movingFileName(ticketId: string, n: string, kind: MovingKind): string {
  return `${ticketId}~${n}.${kind}.json`;
}

export function parseMovingFileName(name: string): { ticketId: string; n: string; kind: MovingKind } | undefined {
  const m = MOVING_RE.exec(name);
  return m ? { ticketId: m[1] as string, n: m[2] as string, kind: m[3] as MovingKind } : undefined;
}

/** Files in moving/ that stand for a ticket in flight (a fenced move or a staged birth). */
export function isInFlightName(name: string): boolean {
  const k = parseMovingFileName(name)?.kind;
  return k === MovingKind.prev || k === MovingKind.new;
}

export function requestedByFileName(childId: string, parentId: string): string {
  return `${childId}~${parentId}${TICKET_SUFFIX}`;
}

export function whyFileName(quarantinedName: string): string {
  return `${quarantinedName}${WHY_SUFFIX}`;
}

export function isWhyFileName(name: string): boolean {
  return name.endsWith(WHY_SUFFIX);
}

export const TAKEN_SUFFIX = '.taken';
const TAKEN_RE = /^\.(.+)\.([0-9a-f]{12,})\.taken$/;

/**
 * `.<name>.<nonce>.taken`: an agent's file the daemon took (renamed) to act on it; hidden from
 * agents and fsck. `nonce` is hex, at least 12 digits (ids.ts nonce()).
 */
export function takenFileName(name: string, nonce: string): string {
  return `.${name}.${nonce}${TAKEN_SUFFIX}`;
}

/** The name a taken file was taken from, or undefined for any other name. */
export function parseTakenFileName(name: string): string | undefined {
  return TAKEN_RE.exec(name)?.[1];
}

/** `<run>/.daemon.lock`: which daemon serves the run. */
export const DAEMON_LOCK_FILE_NAME = '.daemon.lock';

/**
 * Can `<base><suffix>` be written next to a file named after `base` (an agent's result file, a
 * request)? Names come from readdir, so they hold no '/'; refuse hidden names, control
 * characters, undecodable bytes and names too long.
 */
export function isSafeBaseName(base: string, suffix: string): boolean {
  if (base.length === 0 || base.startsWith('.')) return false;
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f\\/\uFFFD]/.test(base)) return false;
  return Buffer.byteLength(base) + suffix.length <= 200;
}

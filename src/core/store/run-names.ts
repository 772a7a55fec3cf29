/**
 * Every file name inside a run, in one place: suffixes, the names built from validated ids, and
 * the one parser for each kind of name. Nothing else in ticketq spells a suffix or a name regexp.
 *
 *   <id>.json                           a ticket, in any state directory or registry/<stage>/
 *   pending/<stage>/lanes/<lane>/<id>.json  a pending ticket of another priority, or delayed (model/lanes.ts)
 *   paused/<stage>.json, paused/all-stages.json  claims of the stage (of every stage) are paused
 *   claimed/<worker>/<id>~<n>.result.json   an agent's submit (file-only protocol; <n>: the agent's tag)
 *   claimed/<worker>/<id>~<n>.heartbeat.json  an agent's lease extension
 *   claimed/<worker>/<id>~<n>.release.json  an agent's give-back
 *   claimed/<worker>/<id>~<n>.<kind>.error.json  the daemon's answer to a refused agent file
 *   claimed/<worker>/<id>.<kind>.json, <id>.error.json  the same, untagged (deprecated, one release)
 *   requests/<worker>~<request_id>.json  an agent's claim request
 *   requests/<worker>~<request_id>.reply.json  the daemon's answer to it
 *   requests/<worker>.json, <worker>.reply.json  the same, untagged (deprecated, one release)
 *   moving/<id>~<n>.next.json|.prev.json  a fenced move in flight (protocol/move-ticket.ts)
 *   moving/<id>~<n>.new.json            a birth in flight (protocol/birth-ticket.ts)
 *   cascade/requested_by/<child>~<parent>.json  an extra parent of a de-duplicated child
 *   cascade/done/<parent-id>.json       a parent whose children were all created (named like its ticket)
 *   quarantine/<name>~<n>               a quarantined file
 *   quarantine/<name>~<n>.why.json      why it was quarantined
 *   rejected/<id>~<n>.json              an output refused because the lease was lost
 *   inputs/<batch>.json                 the record of one `tq create/add` input
 *   logs/<id>.<attempt>.log             the stderr of one attempt of `tq work` (…~<claim>.log when run again)
 *   logs/<id>.<attempt>.log.tmp         that log while the attempt runs (git-ignored as *.tmp)
 *   items/<stage>/<item stem>.json      an input item added to the stage (model/item-key.ts stem)
 *   .tmp/<name>.<pid>.<n>.tmp           a temp file (git-ignored)
 *   <root>/.<run>.creating-<pid>-<n>/   a run being created (renamed to <root>/<run>/ when complete)
 *   schemas/<name>.schema.json          a JSON Schema for agents (ops/agent-docs.ts)
 *
 * Why one module: the copies of these regexps that used to live beside each reader had drifted
 * apart, so two parts of ticketq could disagree about what a file is.
 */
import { RESERVED_SUFFIXES } from '../model/ids.js';

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
/**
 * Between an id and the tag that makes an agent's file name unique (`<worker>~<request_id>`,
 * `<ticket-id>~<n>`). Why unique names: on an NFS client, a file re-created under a name the
 * other side had just deleted was silently lost (issue 15); so neither side ever re-creates a
 * name the other deletes. Why `~`: ids never contain it, so a name splits one way only.
 */
export const TAG_SEPARATOR = '~';
const MOVING_RE = /^(.+)~([0-9a-f]+)\.(next|prev|new)\.json$/;
/** Suffixes that mark a name as something other than a ticket: the ones ticket ids may not end with (ids.ts). */
const RESERVED_ALTERNATIVES = RESERVED_SUFFIXES.map((s) => s.replace(/\./g, '\\.')).join('|');
const NOT_A_TICKET_RE = new RegExp(`(?:${RESERVED_ALTERNATIVES})$`);
/** The same, on a whole file name (`<id><reserved suffix>.json`). */
const NOT_A_TICKET_FILE_RE = new RegExp(`(?:${RESERVED_ALTERNATIVES})\\.json$`);
/** `cascade/requested_by/<child>~<parent>.json`. Why it splits unambiguously: ids never contain '~' (ids.ts). */
const REQUESTED_BY_RE = /^([^~]+)~([^~]+)\.json$/;

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

/** `<id>~<tag>.<kind>.json` (`<id>.<kind>.json` without a tag: the deprecated name). */
export function agentFileName(ticketId: string, kind: AgentFileKind, tag?: string): string {
  return `${withTag(ticketId, tag)}.${kind}.json`;
}

function withTag(id: string, tag: string | undefined): string {
  return tag === undefined ? id : `${id}${TAG_SEPARATOR}${tag}`;
}

/** An agent's file beside a ticket it holds, as named (validate rawId and rawTag before use). */
export interface AgentFileName {
  rawId: string;
  /** The agent's tag after `~`; undefined for the deprecated untagged name. */
  rawTag: string | undefined;
  kind: AgentFileKind;
  /** What the error file answering this one is named after (errorFileName). */
  errorBase: string;
}

/** `<id>~<tag>.result.json` and its kin (or the untagged `<id>.result.json`). */
export function parseAgentFileName(name: string): AgentFileName | undefined {
  if (name.startsWith('.')) return undefined;
  const m = AGENT_FILE_RE.exec(name);
  if (!m) return undefined;
  const base = m[1] as string;
  const kind = m[2] as AgentFileKind;
  const sep = base.indexOf(TAG_SEPARATOR);
  if (sep < 0) return { rawId: base, rawTag: undefined, kind, errorBase: base };
  // Why the kind in the error's name: a result and a heartbeat may carry the same tag.
  return { rawId: base.slice(0, sep), rawTag: base.slice(sep + 1), kind, errorBase: `${base}.${kind}` };
}

/** `<errorBase>.error.json`: `<id>.error.json` for an untagged file, `<id>~<tag>.<kind>.error.json` for a tagged one. */
export function errorFileName(errorBase: string): string {
  return `${errorBase}${ERROR_SUFFIX}`;
}

/** `requests/<worker>~<request_id>.json` (`<worker>.json` without a request id: the deprecated name). */
export function requestFileName(workerId: string, requestId?: string): string {
  return `${withTag(workerId, requestId)}${TICKET_SUFFIX}`;
}

/** `requests/<worker>~<request_id>.reply.json` (`<worker>.reply.json`: the deprecated name). */
export function replyFileName(workerId: string, requestId?: string): string {
  return `${withTag(workerId, requestId)}${REPLY_SUFFIX}`;
}

/** A request's (or reply's) name split up (validate both before use). */
export interface RequestName {
  rawWorker: string;
  /** After `~`; undefined for the deprecated `<worker>.json`. */
  rawRequestId: string | undefined;
}

function splitRequestBase(base: string): RequestName {
  const sep = base.indexOf(TAG_SEPARATOR);
  return sep < 0 ? { rawWorker: base, rawRequestId: undefined } : { rawWorker: base.slice(0, sep), rawRequestId: base.slice(sep + 1) };
}

/** `requests/<worker>~<request_id>.json` or `<worker>.json`; replies and hidden files → undefined. */
export function parseRequestFileName(name: string): RequestName | undefined {
  if (name.startsWith('.') || !name.endsWith(TICKET_SUFFIX) || name.endsWith(REPLY_SUFFIX)) return undefined;
  return splitRequestBase(name.slice(0, -TICKET_SUFFIX.length));
}

/** `requests/<worker>~<request_id>.reply.json` or `<worker>.reply.json`; anything else → undefined. */
export function parseReplyFileName(name: string): RequestName | undefined {
  if (name.startsWith('.') || !name.endsWith(REPLY_SUFFIX)) return undefined;
  return splitRequestBase(name.slice(0, -REPLY_SUFFIX.length));
}

/** The name of the reply to request file `requestName` (one parseRequestFileName accepts). */
export function replyNameOfRequest(requestName: string): string {
  return `${requestName.slice(0, -TICKET_SUFFIX.length)}${REPLY_SUFFIX}`;
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

/**
 * Files that sit beside tickets in claimed/<worker>/ without being tickets: an agent's
 * result, heartbeat or release, or the daemon's error answer to one.
 */
export function isAgentSideFileName(name: string): boolean {
  return parseAgentFileName(name) !== undefined || (!name.startsWith('.') && name.endsWith(ERROR_SUFFIX));
}

/**
 * Same answer as `ticketIdOfFileName(name) !== undefined`, without making the id string: the
 * regex runs only for the rare names with a second dot. Why: runs on every name of a listing.
 */
export function isTicketFileName(name: string): boolean {
  if (!name.endsWith(TICKET_SUFFIX) || name.charCodeAt(0) === 46 /* . */) return false;
  const dot = name.indexOf('.');
  return dot === name.length - TICKET_SUFFIX.length || !NOT_A_TICKET_FILE_RE.test(name);
}

/** The ticket id of a name `isTicketFileName` accepted (no check: the fast path of listings). */
export function stripTicketSuffix(ticketFileName: string): string {
  return ticketFileName.slice(0, -TICKET_SUFFIX.length);
}

/** Any JSON record by name (`*.json`): rejected outputs, input batches, registry entries when only counted. */
export function isJsonFileName(name: string): boolean {
  return name.endsWith(TICKET_SUFFIX);
}

/** Does this name in moving/ belong to a move or birth of `ticketId` (any kind, well-formed or not)? */
export function isMovingFileOf(name: string, ticketId: string): boolean {
  return name.startsWith(`${ticketId}~`);
}

export function parseRequestedByFileName(name: string): { childId: string; parentId: string } | undefined {
  const m = REQUESTED_BY_RE.exec(name);
  return m ? { childId: m[1] as string, parentId: m[2] as string } : undefined;
}

/** `rejected/<id>~<n>.json`: one refused output of a ticket. */
export function rejectedFileName(ticketId: string, n: string): string {
  return `${ticketId}~${n}${TICKET_SUFFIX}`;
}

export function isRejectedFileOf(name: string, ticketId: string): boolean {
  return name.startsWith(`${ticketId}~`) && name.endsWith(TICKET_SUFFIX);
}

/** `quarantine/<original name>~<n>`: a quarantined file keeps its name, made unique. */
export function quarantineFileName(originalName: string, n: string): string {
  return `${originalName}~${n}`;
}

/** `inputs/<batch-id>.json`: the record of one `tq create/add` input. */
export function batchFileName(batchId: string): string {
  return `${batchId}${TICKET_SUFFIX}`;
}

/** `items/<stage>/<stem>.json`: the entry of one input item (its stem from model/item-key.ts). */
export function itemFileName(stem: string): string {
  return `${stem}${TICKET_SUFFIX}`;
}

/** `.tmp/<name>.<pid>.<n>.tmp`: a temp file on its way to `name`. */
export function tempFileName(targetName: string, pid: number, n: string): string {
  return `${targetName}.${pid}.${n}.tmp`;
}

export const SCHEMA_SUFFIX = '.schema.json';
const SCHEMA_SUFFIX_RE = /\.schema\.json$|\.json$/;

/** `schemas/<name>.schema.json`: `ticket`, `result`, `<stage>.output` ... */
export function schemaFileName(schemaName: string): string {
  return `${schemaName}${SCHEMA_SUFFIX}`;
}

/** `translate.output.schema.json` -> `translate.output`; a name typed with only `.json` is forgiven too. */
export function schemaNameOfFileName(name: string): string {
  return name.replace(SCHEMA_SUFFIX_RE, '');
}

export const TAKEN_SUFFIX = '.taken';
const TAKEN_RE = /^\.(.+)\.([0-9a-f]{12,})(?:\.at-([0-9a-f]{1,13}))?\.taken$/;

/**
 * `.<name>.<nonce>.taken`: an agent's file the daemon took (renamed) to act on it; hidden from
 * agents and fsck. `nonce` is hex, at least 12 digits (ids.ts nonce()). With `atMs`,
 * `.<name>.<nonce>.at-<ms, hex>.taken`: when it was taken, by the daemon's clock. Why: a request
 * taken by a daemon that died before replying is recognised by a later one, which then looks for
 * the claim made for it after that time (daemon/recover-request.ts).
 */
export function takenFileName(name: string, nonce: string, atMs?: number): string {
  return `.${name}.${nonce}${atMs === undefined ? '' : `.at-${Math.max(0, Math.floor(atMs)).toString(16)}`}${TAKEN_SUFFIX}`;
}

/** The name a taken file was taken from, or undefined for any other name. */
export function parseTakenFileName(name: string): string | undefined {
  return TAKEN_RE.exec(name)?.[1];
}

/** When a taken file was taken (takenFileName's `atMs`), or undefined when its name does not say. */
export function takenAtOfFileName(name: string): number | undefined {
  const at = TAKEN_RE.exec(name)?.[3];
  return at === undefined ? undefined : parseInt(at, 16);
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

/** `requests/README.md`: what requests/ is for (ops/agent-docs.ts); the one file there that is neither a request nor a reply. */
export const REQUESTS_README_FILE_NAME = 'README.md';

/** `pending/<stage>/lanes/`: the lane directories of a stage (model/lanes.ts names them). */
export const LANES_DIR_NAME = 'lanes';

/**
 * `paused/all-stages.json`: every stage of the run is paused. Why this name: stage names are
 * letters, digits and `_`, so no stage's own pause file can be called that.
 */
export const PAUSE_ALL_FILE_NAME = 'all-stages.json';

/** `paused/<stage>.json`: claims of this stage are paused. */
export function pauseFileName(stage: string): string {
  return `${stage}${TICKET_SUFFIX}`;
}

export const LOG_SUFFIX = '.log';
/** Why `.tmp`: the run's .gitignore has `*.tmp`, so a log still being written is never committed. */
export const LOG_PART_SUFFIX = '.log.tmp';

/**
 * `logs/<id>.<attempt>.log`: the stderr of one attempt. With `claim` (the ticket's claim_count),
 * `logs/<id>.<attempt>~<claim>.log`: the same attempt run again (its first run was released).
 * Why `~`: ids never contain it, so the name splits one way only.
 */
export function attemptLogFileName(ticketId: string, attempt: number, claim?: number): string {
  return `${ticketId}.${attempt}${claim !== undefined ? `~${claim}` : ''}${LOG_SUFFIX}`;
}

/** The attempt of a log name of this ticket (`<id>.<n>.log` or `<id>.<n>~<claim>.log`), or undefined for any other name. */
export function attemptOfLogFileName(name: string, ticketId: string): number | undefined {
  if (!name.startsWith(`${ticketId}.`) || !name.endsWith(LOG_SUFFIX)) return undefined;
  const m = /^(\d{1,9})(?:~\d{1,9})?$/.exec(name.slice(ticketId.length + 1, -LOG_SUFFIX.length));
  return m ? Number(m[1]) : undefined;
}

const CREATING_RE = /^\.(.+)\.creating-(\d+)-([0-9a-f]+)$/;

/**
 * `<root>/.<run>.creating-<pid>-<n>`: the directory a `tq create` builds the run in, renamed to
 * `<root>/<run>` once complete. Hidden (run ids never start with '.'), so `tq runs` and the
 * daemon never take it for a run.
 */
export function creatingDirName(runId: string, pid: number, n: string): string {
  return `.${runId}.creating-${pid}-${n}`;
}

/** The run id and creator pid of a creatingDirName, or undefined for any other name. */
export function parseCreatingDirName(name: string): { runId: string; pid: number } | undefined {
  const m = CREATING_RE.exec(name);
  return m ? { runId: m[1] as string, pid: Number(m[2]) } : undefined;
}

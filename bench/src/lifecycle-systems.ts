/** The systems figure 1 compares, at two durabilities; see floor-systems.ts for the floors. */
export type Kind = 'ticketq' | 'raw' | 'honest' | 'honest-fsync' | 'protocol' | 'lease' | 'bullmq' | 'plainjob';

export interface System {
  key: string;
  label: string;
  kind: Kind;
  procs: number;
  /**
   * 'none': nothing fsynced (ticketq 'none', Redis without persistence, SQLite synchronous=OFF).
   * 'full': every change on disk before it is acknowledged (ticketq 'full', Redis appendfsync
   * always, SQLite synchronous=FULL). 'full' systems run the smaller durable ticket count.
   */
  durability: 'none' | 'full';
}

export const SYSTEMS: readonly System[] = [
  { key: 'tq1', label: 'ticketq, 1 process', kind: 'ticketq', procs: 1, durability: 'none' },
  { key: 'tq2', label: 'ticketq, 2 processes', kind: 'ticketq', procs: 2, durability: 'none' },
  { key: 'honest1', label: 'honest floor, 1 process', kind: 'honest', procs: 1, durability: 'none' },
  { key: 'honest2', label: 'honest floor, 2 processes', kind: 'honest', procs: 2, durability: 'none' },
  { key: 'raw1', label: 'renames-only floor, 1 process', kind: 'raw', procs: 1, durability: 'none' },
  { key: 'proto1', label: "protocol floor (today's file operations, no code), 1 process", kind: 'protocol', procs: 1, durability: 'none' },
  { key: 'lease1', label: 'lease-file design floor, 1 process', kind: 'lease', procs: 1, durability: 'none' },
  { key: 'bullmq', label: 'BullMQ + Redis (no persistence)', kind: 'bullmq', procs: 1, durability: 'none' },
  { key: 'plainjob', label: 'plainjob (synchronous=OFF)', kind: 'plainjob', procs: 1, durability: 'none' },
  { key: 'tqfull', label: "ticketq 'full', 1 process", kind: 'ticketq', procs: 1, durability: 'full' },
  { key: 'honestfsync', label: 'honest floor + fsync, 1 process', kind: 'honest-fsync', procs: 1, durability: 'full' },
  { key: 'bullmqaof', label: 'BullMQ + Redis (appendfsync always)', kind: 'bullmq', procs: 1, durability: 'full' },
  { key: 'plainjobfull', label: 'plainjob (synchronous=FULL)', kind: 'plainjob', procs: 1, durability: 'full' },
];

export function systemOf(key: string): System {
  const s = SYSTEMS.find((x) => x.key === key);
  if (!s) throw new Error(`no system ${key}`);
  return s;
}

/** What each system does, for the figure's description. */
export const SYSTEM_NOTES = [
  'ticketq: the library API (addTickets, then claimTicket + submitTicket in 16 loops per process).',
  'honest floor: bare file operations through ticketq\'s Fs layer with the creations a ticket must make — the birth file written into pending/; claim = rename into claimed/<w>/ + read it; submit = the output written as a new file, renamed into completed/, the claimed file unlinked (2 creations, 2 renames, 1 read, 1 inode freed per ticket); "+ fsync" also fsyncs each new file and each directory a rename changes.',
  'renames-only floor (the floor of earlier reports): 1 creation and 2 renames per ticket; it writes no output, so no queue that records one can reach it.',
  "protocol floor: exactly the file operations ticketq's protocol makes today (counted with strace: 5 creations, 5 renames, 2 links, 4 unlinks, 2 reads, 4 lstats per ticket) with none of its code: ticketq's cost split into its file operations and its code.",
  'lease-file design floor: the design issue 16 proposed, as bare file operations — birth = a creation + a rename into pending/ (the registry an append-only manifest, one append per 256 births); claim = rename + read, one lease file per 16 claims (no rewrite); submit = rename into moving/ (the fence), rewrite that file in place, rename into completed/. What that design would reach with no code at all.',
  'BullMQ: one process, a Worker with concurrency 16, addBulk in chunks of 1,000; a fresh redis-server per round with its files on the filesystem under test.',
  'plainjob: better-sqlite3 in WAL mode, addMany in one transaction, one worker.',
];

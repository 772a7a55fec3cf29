import { describe, expect, it } from 'vitest';
import { RESERVED_SUFFIXES } from '../../../src/core/model/ids.js';
import {
  AgentFileKind,
  LOG_PART_SUFFIX,
  attemptLogFileName,
  attemptOfLogFileName,
  MovingKind,
  agentFileName,
  errorFileName,
  isInFlightName,
  isMovingFileOf,
  isRejectedFileOf,
  isTicketFileName,
  movingFileName,
  parseAgentFileName,
  parseReplyFileName,
  parseRequestFileName,
  replyNameOfRequest,
  requestFileName,
  parseMovingFileName,
  parseRequestedByFileName,
  rejectedFileName,
  replyFileName,
  requestedByFileName,
  stripTicketSuffix,
  ticketFileName,
  ticketIdOfFileName,
} from '../../../src/core/store/run-names.js';

describe('run-names', () => {
  it('isTicketFileName agrees with ticketIdOfFileName', () => {
    const names = ['parse-1.json', 'a.b.json', '.hidden.json', 'x.result.json', 'x.error.json', 'x.heartbeat.json', 'x.release.json', 'x.reply.json', 'x.request.json',
      'x.results.json', 'result.json', 'x.json.tmp', 'x.tmp', 'x', '.json', 'a.b.c.result.json', 'x.prev.json', 'x.resultjson', 'x-y.json',
      'x~1.result.json', 'x~1.result.error.json', 'x~1.heartbeat.json', 'w~r1.reply.json'];
    for (const n of names) expect([n, isTicketFileName(n)]).toEqual([n, ticketIdOfFileName(n) !== undefined]);
  });

  it('a ticket file name gives back its id', () => {
    expect(ticketIdOfFileName(ticketFileName('parse-1'))).toBe('parse-1');
    expect(stripTicketSuffix(ticketFileName('parse-1.v2'))).toBe('parse-1.v2');
  });

  it('no name the file-only protocol writes beside a ticket is taken for a ticket, and ids may not end like one (RESERVED_SUFFIXES)', () => {
    const tagged = Object.values(AgentFileKind).flatMap((k) => [agentFileName('parse-1', k, '7'), errorFileName(parseAgentFileName(agentFileName('parse-1', k, '7'))?.errorBase as string)]);
    const beside = [...Object.values(AgentFileKind).map((k) => agentFileName('parse-1', k)), errorFileName('parse-1'), replyFileName('w1'), replyFileName('w1', 'r1'), ...tagged];
    for (const name of beside) {
      expect([name, isTicketFileName(name), ticketIdOfFileName(name)]).toEqual([name, false, undefined]);
      expect(RESERVED_SUFFIXES.some((s) => name.endsWith(`${s}.json`))).toBe(true);
    }
  });

  it('agent, request and reply names round-trip, with a tag after ~ or (deprecated) without', () => {
    expect(agentFileName('parse-1', 'result', '7')).toBe('parse-1~7.result.json');
    expect(parseAgentFileName('parse-1~7.result.json')).toEqual({ rawId: 'parse-1', rawTag: '7', kind: 'result', errorBase: 'parse-1~7.result' });
    expect(parseAgentFileName('parse-1.heartbeat.json')).toEqual({ rawId: 'parse-1', rawTag: undefined, kind: 'heartbeat', errorBase: 'parse-1' });
    // A heartbeat and a result with the same tag are answered in different error files.
    expect(parseAgentFileName('parse-1~7.heartbeat.json')?.errorBase).not.toBe(parseAgentFileName('parse-1~7.result.json')?.errorBase);
    expect(requestFileName('w1', 'r1')).toBe('w1~r1.json');
    expect(replyFileName('w1', 'r1')).toBe('w1~r1.reply.json');
    expect(parseRequestFileName('w1~r1.json')).toEqual({ rawWorker: 'w1', rawRequestId: 'r1' });
    expect(parseRequestFileName('w1.json')).toEqual({ rawWorker: 'w1', rawRequestId: undefined });
    expect(parseRequestFileName('w1~r1.reply.json')).toBeUndefined();
    expect(parseReplyFileName('w1~r1.reply.json')).toEqual({ rawWorker: 'w1', rawRequestId: 'r1' });
    expect(replyNameOfRequest('w1~r1.json')).toBe('w1~r1.reply.json');
    expect(replyNameOfRequest('w1.json')).toBe('w1.reply.json');
  });

  it('moving names round-trip, and only fences and births count as in flight', () => {
    for (const kind of Object.values(MovingKind)) {
      const name = movingFileName('parse-1', 'ab12', kind);
      expect(parseMovingFileName(name)).toEqual({ ticketId: 'parse-1', n: 'ab12', kind });
      expect(isMovingFileOf(name, 'parse-1')).toBe(true);
      expect(isMovingFileOf(name, 'parse-2')).toBe(false);
      expect(isInFlightName(name)).toBe(kind !== MovingKind.next);
    }
    expect(parseMovingFileName('parse-1.json')).toBeUndefined();
  });

  it('requested_by and rejected names round-trip', () => {
    expect(parseRequestedByFileName(requestedByFileName('fr-k-x-1', 'parse-2'))).toEqual({ childId: 'fr-k-x-1', parentId: 'parse-2' });
    expect(parseRequestedByFileName('parse-2.json')).toBeUndefined();
    expect(isRejectedFileOf(rejectedFileName('parse-1', 'ab12'), 'parse-1')).toBe(true);
    expect(isRejectedFileOf(rejectedFileName('parse-10', 'ab12'), 'parse-1')).toBe(false);
  });

  it('attempt log names belong to one ticket only, though ids may contain dots', () => {
    expect(attemptLogFileName('parse-1', 2)).toBe('parse-1.2.log');
    expect(attemptLogFileName('parse-1', 2, 5)).toBe('parse-1.2~5.log');
    expect(attemptOfLogFileName('parse-1.2.log', 'parse-1')).toBe(2);
    expect(attemptOfLogFileName('parse-1.2~5.log', 'parse-1')).toBe(2);
    // parse-1.3's first attempt is not parse-1's: "3.1" is no attempt number.
    expect(attemptOfLogFileName(attemptLogFileName('parse-1.3', 1), 'parse-1')).toBeUndefined();
    expect(attemptOfLogFileName(attemptLogFileName('parse-1', 1), 'parse-1.3')).toBeUndefined();
    expect(attemptOfLogFileName(`parse-1.2~5${LOG_PART_SUFFIX}`, 'parse-1')).toBeUndefined();
    expect(attemptOfLogFileName('parse-10.1.log', 'parse-1')).toBeUndefined();
    // A log still being written is git-ignored by the run's `*.tmp` rule, and never a ticket.
    expect(LOG_PART_SUFFIX.endsWith('.tmp')).toBe(true);
    expect(isTicketFileName(attemptLogFileName('parse-1', 1))).toBe(false);
  });
});

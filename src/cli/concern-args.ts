import { TqError } from '../core/model/errors.js';
import { CONCERN_LEVELS } from '../core/model/states.js';
import type { Concern } from '../core/model/ticket-schema.js';

/**
 * `--concern LEVEL:MESSAGE [--suggestion TEXT]`, repeatable. Only the first colon separates the
 * level; the whole rest is the message, colons and all ("info:checked a: b" is the message
 * "checked a: b"). A suggestion is its own option and belongs to the --concern just before it.
 * Why not a second colon: a message with a colon in it was cut in two.
 */
export const CONCERN_EXAMPLE = '--concern "review:Ambiguous speaker" --suggestion "check node 0x14dfea"';

export function parseConcernArg(text: string): Concern {
  const colon = text.indexOf(':');
  const level = (colon < 0 ? '' : text.slice(0, colon)).trim();
  if (!(CONCERN_LEVELS as readonly string[]).includes(level)) {
    throw new TqError('USAGE', `--concern "${text}": must start with info:, review: or error:`, { field: 'concern', hint: `e.g. ${CONCERN_EXAMPLE}` });
  }
  const message = text.slice(colon + 1).trim();
  if (message === '') throw new TqError('USAGE', `--concern "${text}": the message is empty`, { field: 'concern', hint: `e.g. ${CONCERN_EXAMPLE}` });
  return { level: level as Concern['level'], message };
}

const isFlag = (word: string, name: string): boolean => word === `--${name}` || word.startsWith(`--${name}=`);

/**
 * The concerns of a line: each --concern parsed, each --suggestion given to the --concern before
 * it. `argv` gives the order (the parsers give each option's values in order, but not how the
 * two options interleave).
 */
export function concernsFromArgs(concerns: string[], suggestions: string[], argv: readonly string[]): Concern[] {
  const parsed = concerns.map(parseConcernArg);
  let seen = 0;
  let given = 0;
  for (const word of argv) {
    if (word === '--') break;
    if (isFlag(word, 'concern')) seen += 1;
    else if (isFlag(word, 'suggestion')) {
      const target = parsed[seen - 1];
      if (!target) throw new TqError('USAGE', '--suggestion must come after the --concern it belongs to', { field: 'suggestion', hint: `e.g. ${CONCERN_EXAMPLE}` });
      if (target.suggestion !== undefined) throw new TqError('USAGE', `--concern "${concerns[seen - 1] ?? ''}" has two --suggestion options`, { field: 'suggestion', hint: 'give each --concern at most one --suggestion, right after it' });
      const text = (suggestions[given] ?? '').trim();
      given += 1;
      if (text !== '') target.suggestion = text;
    }
  }
  // Why: only a line whose words disagree with the parsed values gets here (never expected).
  if (seen !== parsed.length || given !== suggestions.length) throw new TqError('USAGE', 'could not tell which --concern each --suggestion belongs to', { field: 'suggestion', hint: `write each as ${CONCERN_EXAMPLE}` });
  return parsed;
}

/**
 * The README as test input. Two kinds of fenced blocks are read:
 *
 * - ```console blocks are transcripts: `$ command` lines (a trailing `\` continues a line), each
 *   followed by the output the README shows. A trailing `# exit N` on a command says its exit
 *   code (default 0). The newcomer test runs every block, in a fresh directory, and checks the
 *   exit codes and that the real output has the README's shape (see outputMatchesShape).
 * - ```sh blocks whose lines start with `tq <command> <run>` are the CLI synopsis: the test
 *   checks every command and option they name exists.
 */

export interface TranscriptStep {
  command: string;
  exitCode: number;
  expected: string[];
  /** 1-based line of the command in the README, for failure messages. */
  line: number;
}

export interface Transcript {
  /** The nearest heading above the block. */
  section: string;
  line: number;
  steps: TranscriptStep[];
}

export interface SynopsisLine {
  line: number;
  text: string;
}

interface Block {
  lang: string;
  section: string;
  line: number;
  body: string[];
}

function readBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  let section = '';
  let open: Block | undefined;
  for (const [i, text] of markdown.split('\n').entries()) {
    if (open) {
      if (/^```\s*$/.test(text)) {
        blocks.push(open);
        open = undefined;
      } else open.body.push(text);
      continue;
    }
    const heading = /^#+\s+(.*)$/.exec(text);
    if (heading) section = heading[1] as string;
    const fence = /^```(\S*)/.exec(text);
    if (fence) open = { lang: fence[1] as string, section, line: i + 2, body: [] };
  }
  return blocks;
}

export function readTranscripts(markdown: string): Transcript[] {
  return readBlocks(markdown)
    .filter((b) => b.lang === 'console')
    .map((b) => {
      const steps: TranscriptStep[] = [];
      let command: string | undefined;
      let commandLine = 0;
      for (const [i, text] of b.body.entries()) {
        if (command !== undefined) command += ` ${text.trim()}`;
        else if (text.startsWith('$ ')) {
          command = text.slice(2);
          commandLine = b.line + i;
        } else {
          steps[steps.length - 1]?.expected.push(text);
          continue;
        }
        // Why: a trailing backslash continues the command on the next line, as in a shell.
        if (command.endsWith('\\')) command = command.slice(0, -1).trimEnd();
        else {
          finishStep(steps, command, commandLine);
          command = undefined;
        }
      }
      return { section: b.section, line: b.line, steps };
    });
}

function finishStep(steps: TranscriptStep[], raw: string, line: number): void {
  const exit = /\s+#\s*exit\s+(\d+)\b.*$/.exec(raw);
  const command = (exit ? raw.slice(0, exit.index) : raw.replace(/\s+#\s.*$/, '')).trim();
  steps.push({ command, exitCode: exit ? Number(exit[1]) : 0, expected: [], line });
}

/** The `tq <command> …` lines of ```sh blocks (the CLI synopsis and other usage lines). */
export function readSynopsis(markdown: string): SynopsisLine[] {
  const out: SynopsisLine[] = [];
  for (const b of readBlocks(markdown)) {
    if (b.lang !== 'sh') continue;
    for (const [i, text] of b.body.entries()) {
      for (const part of text.replace(/\s+#\s.*$/, '').split(/\s+\|\s+/)) {
        if (/^tq [a-z]/.test(part.trim())) out.push({ line: b.line + i, text: part.trim() });
      }
    }
  }
  return out;
}

const ID = /\b[a-z][a-z0-9_]*-[0-9a-z]{8,}(?:-[0-9a-z]+)+\b/g;

/**
 * A line reduced to its shape: ticket ids, timestamps, durations and numbers become tokens and
 * runs of spaces one space, so a table whose column widths changed still matches.
 */
export function lineShape(line: string): string {
  return line
    .replace(/\d{8}-\d{6}/g, '<stamp>')
    .replace(/\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?Z?/g, '<time>')
    .replace(ID, '<id>')
    .replace(/\b\d+(\.\d+)?(ms|s|m|h|d)\b/g, '<dur>')
    .replace(/\d+(\.\d+)?/g, '<n>')
    .replace(/[ \t]+/g, ' ')
    .trim();
}

export interface ShapeMatch {
  ok: boolean;
  /** The first README line with no counterpart in the output, in order. */
  missing?: string;
  /** README ticket ids paired with the real ones on matched lines (to rewrite later commands). */
  ids: Map<string, string>;
}

/**
 * Does the output have the README's shape? Every non-empty README line (bar `...`) must match
 * an output line, in order; output may have more lines (the README elides).
 */
export function outputMatchesShape(expected: string[], actual: string[]): ShapeMatch {
  const ids = new Map<string, string>();
  const shapes = actual.map(lineShape);
  let at = 0;
  for (const want of expected) {
    if (want.trim() === '' || want.trim() === '...') continue;
    const shape = lineShape(want);
    const found = shapes.indexOf(shape, at);
    if (found < 0) return { ok: false, missing: want, ids };
    const readmeIds = want.match(ID) ?? [];
    const realIds = (actual[found] as string).match(ID) ?? [];
    readmeIds.forEach((id, i) => {
      const real = realIds[i];
      if (real !== undefined && !ids.has(id)) ids.set(id, real);
    });
    at = found + 1;
  }
  return { ok: true, ids };
}

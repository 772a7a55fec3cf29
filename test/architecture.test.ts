import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * The house rules about imports, checked on the source: no import cycles (dynamic `import()`
 * included), cli → demo → worker → board → daemon → core one way, inside core model → store → protocol → ops →
 * (fsck, views) one way, no terminal or watcher libraries in core, no environment in core.
 */

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

/** src-relative path of every file, e.g. `core/ops/claim-ticket.ts`. */
const FILES = sourceFiles(SRC).map((f) => relative(SRC, f).split('\\').join('/'));
const TEXT = new Map(FILES.map((f) => [f, readFileSync(join(SRC, f), 'utf8')]));

/** Every module a file names in an import, export-from or `import()` (not in comments or strings). */
function specifiersOf(file: string): string[] {
  return ts.preProcessFile(TEXT.get(file) as string, true, true).importedFiles.map((r) => r.fileName);
}

/** Local imports as src-relative .ts paths; packages as their names (`node:` built-ins left out). */
const LOCAL = new Map<string, string[]>();
const PACKAGES = new Map<string, string[]>();
for (const file of FILES) {
  const local: string[] = [];
  const packages: string[] = [];
  for (const spec of specifiersOf(file)) {
    if (spec.startsWith('.')) local.push(join(dirname(file), spec).split('\\').join('/').replace(/\.js$/, '.ts'));
    else if (!spec.startsWith('node:')) packages.push(spec);
  }
  LOCAL.set(file, local);
  PACKAGES.set(file, packages);
}

/** The first import cycle found, as a path of files, or undefined. */
function findCycle(): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string): string[] | undefined => {
    if (state.get(file) === 'done') return undefined;
    if (state.get(file) === 'open') return [...stack.slice(stack.indexOf(file)), file];
    state.set(file, 'open');
    stack.push(file);
    for (const next of LOCAL.get(file) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(file, 'done');
    return undefined;
  };
  for (const file of FILES) {
    const cycle = visit(file);
    if (cycle) return cycle;
  }
  return undefined;
}

/** Rank of a file's layer: a file may import only from its own layer or a lower rank. */
function rankOf(file: string): { layer: string; rank: number } {
  const [top, sub] = file.split('/');
  if (top === 'core') {
    const ranks: Record<string, number> = { model: 0, store: 1, protocol: 2, ops: 3, fsck: 4, views: 4 };
    if (sub !== undefined && sub in ranks) return { layer: `core/${sub}`, rank: ranks[sub] as number };
    return { layer: 'core/?', rank: -1 };
  }
  if (top === 'daemon') return { layer: 'daemon', rank: 10 };
  // Workers run programs for a stage over core alone (no watcher); the CLI and the demo use them.
  if (top === 'worker') return { layer: 'worker', rank: 15 };
  // The web board (`tq board`) reads runs through core and watches them like the daemon.
  if (top === 'board') return { layer: 'board', rank: 12 };
  // The demo is run by `tq demo`: the CLI may import it, not the other way round.
  if (top === 'demo') return { layer: 'demo', rank: 20 };
  if (top === 'cli') return { layer: 'cli', rank: 21 };
  if (file === 'index.ts') return { layer: 'index', rank: 30 };
  return { layer: '?', rank: -1 };
}

describe('architecture (src/)', () => {
  it('finds the source files and their imports', () => {
    expect(FILES.length).toBeGreaterThan(50);
    expect(LOCAL.get('core/ops/claim-ticket.ts')).toContain('core/protocol/move-ticket.ts');
  });

  it('every file belongs to a known layer', () => {
    expect(FILES.filter((f) => rankOf(f).rank < 0)).toEqual([]);
  });

  it('every local import names an existing file', () => {
    const known = new Set(FILES);
    const missing = FILES.flatMap((f) => (LOCAL.get(f) ?? []).filter((to) => !known.has(to)).map((to) => `${f} -> ${to}`));
    expect(missing).toEqual([]);
  });

  it('has no import cycles (dynamic import() included)', () => {
    expect(findCycle()).toBeUndefined();
  });

  it('imports go one way: cli → demo → worker → board → daemon → core; model → store → protocol → ops → (fsck, views)', () => {
    const upward: string[] = [];
    for (const file of FILES) {
      const from = rankOf(file);
      for (const to of LOCAL.get(file) ?? []) {
        const target = rankOf(to);
        // Why a same-rank import of another layer is refused too: fsck and views are siblings.
        const sibling = target.rank === from.rank && target.layer !== from.layer;
        if (target.rank > from.rank || sibling) upward.push(`${file} (${from.layer}) -> ${to} (${target.layer})`);
      }
    }
    expect(upward).toEqual([]);
  });

  it('core never imports chokidar, yargs or log-update', () => {
    const banned = ['chokidar', 'yargs', 'log-update'];
    const found = FILES.filter((f) => f.startsWith('core/')).flatMap((f) =>
      (PACKAGES.get(f) ?? []).filter((p) => banned.some((b) => p === b || p.startsWith(`${b}/`))).map((p) => `${f} imports ${p}`),
    );
    expect(found).toEqual([]);
  });

  it('core never reads process.env', () => {
    const found = FILES.filter((f) => f.startsWith('core/') && /\bprocess\.env\b/.test(TEXT.get(f) as string));
    expect(found).toEqual([]);
  });
});

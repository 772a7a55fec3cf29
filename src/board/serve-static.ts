import type { ServerResponse } from 'node:http';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeFs } from '../core/store/fs-layer.js';
import { SECURITY_HEADERS, sendError } from './http-reply.js';
import type { AssetName } from './board-routes.js';

const TYPES: Record<AssetName | 'index.html', string> = {
  'index.html': 'text/html; charset=utf-8',
  'board.js': 'text/javascript; charset=utf-8',
  'board.css': 'text/css; charset=utf-8',
};
const MAX_ASSET_BYTES = 4 * 1024 * 1024;

/**
 * dist/board/static, wherever this code runs from: dist/board/ (tsc), dist/bundle/board.cjs (the
 * CLI's bundle), or src/board/ (tests): the page is built by `npm run build` (esbuild).
 */
export function findAssetsDir(): string | undefined {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, 'static'), join(here, '..', 'board', 'static'), join(here, '..', '..', 'dist', 'board', 'static')];
  return candidates.find((d) => existsSync(join(d, 'index.html')));
}

/** The page's files, read once (bounded, through the fs layer) and kept. */
export class StaticAssets {
  readonly #cache = new Map<string, Promise<string>>();

  constructor(private readonly dir: string | undefined) {}

  async send(res: ServerResponse, name: AssetName | 'index.html', head: boolean): Promise<void> {
    if (this.dir === undefined) {
      sendError(res, 503, 'NOT_BUILT', 'the board page is not built: run `npm run build`');
      return;
    }
    let text = this.#cache.get(name);
    if (text === undefined) {
      text = nodeFs.readFile(join(this.dir, name), MAX_ASSET_BYTES);
      this.#cache.set(name, text);
      text.catch(() => this.#cache.delete(name));
    }
    const body = await text;
    res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': TYPES[name], 'cache-control': 'no-cache' });
    res.end(head ? undefined : body);
  }
}

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './ticketq.js';

/** Why a peer cannot run (undefined when it can). */
export interface PeerStatus {
  bullmq?: string;
  plainjob?: string;
}

/** Load each peer in a throwaway process, so a broken native module cannot take the harness down. */
export function checkPeers(): PeerStatus {
  const status: PeerStatus = {};
  const benchModules = join(REPO_ROOT, 'bench', 'node_modules');
  if (!existsSync(benchModules)) {
    const why = 'bench/node_modules is missing (npm install --prefix bench failed?)';
    return { bullmq: why, plainjob: why };
  }
  const probe = (code: string): string | undefined => {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: join(REPO_ROOT, 'bench'), encoding: 'utf8', timeout: 60_000 });
    if (r.status === 0) return undefined;
    const err = (r.stderr || '').trim().split('\n').filter((l) => /Error|error/.test(l)).slice(0, 2).join(' / ');
    return `cannot load: ${err || `exit ${r.status ?? r.signal}`}`;
  };
  const b = probe("await import('bullmq')");
  if (b) status.bullmq = b;
  const p = probe("const { default: D } = await import('better-sqlite3'); const db = new D(':memory:'); db.prepare('select 1').get(); await import('plainjob');");
  if (p) status.plainjob = p;
  return status;
}

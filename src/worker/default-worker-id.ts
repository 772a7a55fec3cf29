import { hostname } from 'node:os';
import { MAX_WORKER_ID } from '../core/model/ids.js';

/**
 * `<hostname>-<pid>`: unique among the workers of one machine, and says where a claim came
 * from. The host name is cut to what a worker id may hold (letters, digits, '.', '_', '-').
 */
export function defaultWorkerId(host: string = hostname(), pid: number = process.pid): string {
  const suffix = `-${pid}`;
  let name = host.replace(/[^A-Za-z0-9._-]/g, '-').replace(/\.{2,}/g, '.').replace(/^[.-]+/, '');
  name = name.slice(0, MAX_WORKER_ID - suffix.length).replace(/\.+$/, '');
  return `${name || 'worker'}${suffix}`;
}

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { connect, createServer } from 'node:net';

/** A throwaway Redis for BullMQ: loopback only, random free port. */
export interface RedisHandle {
  port: number;
  /** For its CPU time (/proc/<pid>/stat): BullMQ's cost is mostly spent in Redis. */
  pid: number;
  flushAll(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * 'none': no persistence (`--save '' --appendonly no`), the equal of ticketq durability 'none'.
 * 'always': `--appendonly yes --appendfsync always`, every write fsynced to the AOF before the
 * reply, the equal of ticketq 'full'. `dir` is where Redis keeps its files: the filesystem under test.
 */
export interface RedisOptions {
  persistence: 'none' | 'always';
  dir?: string;
}

function onPath(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** Make sure `redis-server` exists, installing Debian's package if we may. Returns why not, or undefined. */
export function ensureRedisInstalled(log: (line: string) => void): string | undefined {
  if (onPath('redis-server')) return undefined;
  if (!onPath('apt-get')) return 'redis-server is not on PATH and apt-get is not available to install it';
  if (process.getuid?.() !== 0) return 'redis-server is not on PATH and installing it needs root (apt-get install -y redis-server)';
  log('installing redis-server (apt-get install -y redis-server)...');
  let r = spawnSync('apt-get', ['install', '-y', 'redis-server'], { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (r.status !== 0) {
    spawnSync('apt-get', ['update'], { stdio: 'ignore' });
    r = spawnSync('apt-get', ['install', '-y', 'redis-server'], { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  }
  return onPath('redis-server') ? undefined : `apt-get install -y redis-server failed (exit ${r.status ?? r.signal})`;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Send one inline command and read one reply line. */
async function redisCommand(port: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    let buf = '';
    sock.setEncoding('utf8');
    sock.once('error', reject);
    sock.on('data', (d: string) => {
      buf += d;
      if (buf.includes('\r\n')) {
        sock.end();
        resolve(buf.split('\r\n')[0] ?? '');
      }
    });
    sock.write(`${command}\r\n`);
  });
}

export async function startRedis(opts: RedisOptions = { persistence: 'none' }): Promise<RedisHandle> {
  const port = await freePort();
  const persistence = opts.persistence === 'always' ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'];
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...persistence, ...(opts.dir ? ['--dir', opts.dir] : []), '--daemonize', 'no', '--loglevel', 'warning'];
  const proc: ChildProcess = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'inherit'] });
  let exited = false;
  const exitP = new Promise<void>((resolve) => proc.once('exit', () => { exited = true; resolve(); }));
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (exited) throw new Error('redis-server exited at start');
    try {
      if ((await redisCommand(port, 'PING')) === '+PONG') break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`redis-server did not answer PING on port ${port} within 15 s`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    pid: proc.pid ?? -1,
    async flushAll() {
      const reply = await redisCommand(port, 'FLUSHALL');
      if (reply !== '+OK') throw new Error(`FLUSHALL answered ${reply}`);
    },
    async stop() {
      if (exited) return;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exitP;
      clearTimeout(timer);
    },
  };
}

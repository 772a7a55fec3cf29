/**
 * The filesystems figure 1 runs on: the project disk (where the bench's temp parent is),
 * tmpfs, and a journaled ext4 the bench makes on a loop device. A filesystem that cannot be
 * set up (not root, no loop device...) is reported with the reason; the others still run.
 * Why several: the price of creating a file depends on the filesystem far more than on the
 * queue. On ext4 *without a journal*, the kernel's inode allocator skips inodes freed in the
 * last minutes (recently_deleted() in fs/ext4/ialloc.c), so creations right after many
 * deletions cost milliseconds; tmpfs and a journaled ext4 have no such penalty.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface BenchFilesystem {
  key: 'disk' | 'tmpfs' | 'ext4j';
  /** For labels: "project disk (ext4, no journal)". */
  label: string;
  /** The parent of every measurement directory on it (undefined when it could not be set up). */
  base?: string;
  problem?: string;
}

export interface FilesystemSet {
  list: BenchFilesystem[];
  /** Unmount and delete what set-up made (the measurement directories are removed by the caller first). */
  tearDown(): void;
}

function run(cmd: string, args: string[]): string | undefined {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 120_000 });
  if (r.error) return `${cmd}: ${r.error.message}`;
  if (r.status !== 0) return `${cmd} ${args.join(' ')} exited ${r.status ?? r.signal}: ${(r.stderr || r.stdout || '').trim().split('\n')[0] ?? ''}`;
  return undefined;
}

/** "ext4, no journal" / "tmpfs" / ...: what the directory's filesystem is. */
export function describeFilesystem(dir: string): string {
  const r = spawnSync('findmnt', ['-n', '-o', 'SOURCE,FSTYPE', '--target', dir], { encoding: 'utf8' });
  const [source, type] = (r.stdout || '').trim().split(/\s+/);
  if (!type) return 'unknown filesystem';
  if (type !== 'ext4' || !source) return type;
  // Why debugfs as well: in a container tune2fs may not open the device, while /proc tells less.
  const t = spawnSync('tune2fs', ['-l', source], { encoding: 'utf8' });
  const features = /^Filesystem features:\s*(.*)$/m.exec(t.stdout || '')?.[1] ?? journalFromProc(source);
  if (features === undefined) return 'ext4';
  return features.split(/\s+/).includes('has_journal') ? 'ext4, journaled' : 'ext4, no journal';
}

/** 'has_journal' when /proc/fs/jbd2 lists a journal for the device, '' when it lists none. */
function journalFromProc(source: string): string | undefined {
  const dev = source.replace(/^\/dev\//, '');
  try {
    return readdirSync('/proc/fs/jbd2').some((l) => l.startsWith(`${dev}-`)) ? 'has_journal' : '';
  } catch {
    return undefined;
  }
}

function setUpTmpfs(root: string): BenchFilesystem {
  const mnt = join(root, 'tmpfs');
  mkdirSync(mnt, { recursive: true });
  const problem = run('mount', ['-t', 'tmpfs', '-o', 'size=6g,mode=0700', 'tq-bench', mnt]);
  return problem ? { key: 'tmpfs', label: 'tmpfs', problem } : { key: 'tmpfs', label: 'tmpfs', base: mnt };
}

/**
 * A journaled ext4 on a sparse file. Why lazy_itable_init=0: otherwise the kernel zeroes the
 * inode tables in the background (ext4lazyinit) while the systems are measured. Inodes: every
 * system's files stay until all rounds are done (see measure-lifecycle.ts).
 */
function setUpExt4(root: string, image: string, inodes: number): BenchFilesystem {
  const label = 'ext4 with a journal (loop device)';
  const mnt = join(root, 'ext4j');
  mkdirSync(mnt, { recursive: true });
  const problem =
    run('truncate', ['-s', '12G', image]) ??
    run('mkfs.ext4', ['-q', '-F', '-N', String(inodes), '-E', 'lazy_itable_init=0,lazy_journal_init=0', image]) ??
    run('mount', ['-o', 'loop', image, mnt]);
  return problem ? { key: 'ext4j', label, problem } : { key: 'ext4j', label, base: mnt };
}

/** `inodes`: how many files the loop ext4 must hold (every round's files stay until the end). */
export function setUpFilesystems(diskBase: string, inodes: number, wanted: Set<string>, log: (line: string) => void): FilesystemSet {
  const root = join(tmpdir(), `tq-bench-fs-${process.pid}`);
  const image = join(tmpdir(), `tq-bench-ext4-${process.pid}.img`);
  mkdirSync(root, { recursive: true });
  const disk: BenchFilesystem = { key: 'disk', label: `project disk (${describeFilesystem(diskBase)})`, base: diskBase };
  const notRoot = process.getuid?.() !== 0 ? 'mounting needs root' : undefined;
  const skipped = 'not asked for (--fs)';
  const ext4: BenchFilesystem = !wanted.has('ext4j') ? { key: 'ext4j', label: 'ext4 with a journal (loop device)', problem: skipped } : notRoot ? { key: 'ext4j', label: 'ext4 with a journal (loop device)', problem: notRoot } : setUpExt4(root, image, inodes);
  const tmpfs: BenchFilesystem = !wanted.has('tmpfs') ? { key: 'tmpfs', label: 'tmpfs', problem: skipped } : notRoot ? { key: 'tmpfs', label: 'tmpfs', problem: notRoot } : setUpTmpfs(root);
  for (const f of [disk, ext4, tmpfs].filter((x) => wanted.has(x.key))) log(`  filesystem ${f.label}: ${f.problem ? `not available: ${f.problem}` : f.base}`);
  return {
    // Why the disk first: the disk's directories are deleted only at the very end of the bench.
    list: [disk, ext4, tmpfs],
    tearDown() {
      for (const f of [ext4, tmpfs]) {
        if (f.base) {
          const p = run('umount', [f.base]);
          if (p) log(`  could not unmount ${f.base}: ${p}`);
        }
      }
      rmSync(image, { force: true });
      rmSync(root, { recursive: true, force: true });
    },
  };
}

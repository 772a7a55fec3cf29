import { describe, expect, it } from 'vitest';
import { jsonOf, runTq } from '../helpers/capture-io.js';
import { useCliTempRoot } from '../helpers/cli-temp-root.js';

const tmp = useCliTempRoot();

/** `tq board` refuses what it cannot serve before it listens (the serving itself: test/board/). */
describe('tq board refusals', () => {
  it('a run that does not exist: RUN_NOT_FOUND (exit 4), nothing served', async () => {
    const r = await runTq(tmp.root, ['board', 'nope', '--port', '0', '--json']);
    expect(r.code).toBe(4);
    expect(jsonOf(r.stderr)).toMatchObject({ error: { code: 'RUN_NOT_FOUND' } });
  });

  it('a port out of range: USAGE (exit 2)', async () => {
    const r = await runTq(tmp.root, ['board', '--port', '70000']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--port 70000 is not a port');
  });

  it('an empty --token on a non-loopback host: USAGE (exit 2)', async () => {
    const r = await runTq(tmp.root, ['board', '--host', '0.0.0.0', '--port', '0', '--token', '']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('needs a --token');
  });
});

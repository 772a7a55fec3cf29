import { existsSync } from 'node:fs';
import { truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_INPUT_DOCUMENT, MAX_INPUT_LINE, readInputItems } from '../../../src/core/ops/read-input.js';
import { isTqError, type TqError } from '../../../src/core/model/errors.js';
import { makeTempDir, removeDir } from '../../helpers/temp-dir.js';

let dir: string;
beforeEach(async () => {
  dir = await makeTempDir();
});
afterEach(async () => {
  await removeDir(dir);
});

async function itemsOfText(text: string, name = 'in.jsonl'): Promise<{ item: unknown; where: string }[]> {
  const file = join(dir, name);
  await writeFile(file, text);
  const out = [];
  for await (const it of readInputItems(file)) out.push(it);
  return out;
}

async function failureOf(text: string, name = 'in.jsonl'): Promise<TqError> {
  try {
    await itemsOfText(text, name);
  } catch (err) {
    expect(isTqError(err)).toBe(true);
    return err as TqError;
  }
  throw new Error('input was accepted');
}

describe('readInputItems', () => {
  it('reads JSONL, one object per line, skipping blank lines', async () => {
    const items = await itemsOfText('{"id":1}\n\n   \n{"id":2}\n{"id":3}');
    expect(items.map((i) => i.item)).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
    expect(items[1]?.where).toMatch(/in\.jsonl:4$/);
  });

  it('handles a BOM and CRLF line ends', async () => {
    const items = await itemsOfText('\ufeff{"id":"a"}\r\n{"id":"b"}\r\n\r\n');
    expect(items.map((i) => i.item)).toEqual([{ id: 'a' }, { id: 'b' }]);
  });

  it('reads a JSON array (one line or pretty-printed), with a BOM', async () => {
    expect((await itemsOfText('[{"a":1},{"a":2}]', 'x.json')).map((i) => i.item)).toEqual([{ a: 1 }, { a: 2 }]);
    const pretty = await itemsOfText('\ufeff[\r\n  {"a": 1},\r\n\r\n  {"a": 2}\r\n]\r\n', 'x.json');
    expect(pretty.map((i) => i.item)).toEqual([{ a: 1 }, { a: 2 }]);
    expect(pretty[1]?.where).toMatch(/x\.json\[1\]$/);
  });

  it('reads a single object, compact or pretty-printed', async () => {
    expect((await itemsOfText('{"a":1}', 'one.json')).map((i) => i.item)).toEqual([{ a: 1 }]);
    expect((await itemsOfText('{\n  "a": 1,\n  "b": [1, 2]\n}\n', 'one.json')).map((i) => i.item)).toEqual([{ a: 1, b: [1, 2] }]);
  });

  it('a bad line names file:line', async () => {
    const e = await failureOf('{"id":1}\n{"id":2}\n{"id": oops}\n{"id":4}\n');
    expect(e.code).toBe('INVALID_INPUT');
    expect(e.message).toMatch(/in\.jsonl:3: not valid JSON/);
  });

  it('a bad FIRST line of a JSONL file also names file:line, on one line', async () => {
    const e = await failureOf('{"id": oops}\n{"id":2}\n{"id":3}\n');
    expect(e.message).toMatch(/in\.jsonl:1: not valid JSON/);
    expect(e.message.split('\n')[0]).toMatch(/is not valid JSON/);
    const blank = await failureOf('\n\n{"id": 1,\n{"id":2}\n');
    expect(blank.message).toMatch(/in\.jsonl:3: not valid JSON/);
    // a broken pretty-printed single object still names the file
    expect((await failureOf('{\n  "a": 1,\n  "b":\n}\n', 'one.json')).message).toMatch(/one\.json: not valid JSON/);
  });

  it('refuses items that are not objects, naming where', async () => {
    expect((await failureOf('{"id":1}\n"just a string"\n')).message).toMatch(/in\.jsonl:2: expected a JSON object, got string/);
    expect((await failureOf('{"id":1}\n[1,2]\n')).message).toMatch(/in\.jsonl:2: expected a JSON object, got an array/);
    expect((await failureOf('{"id":1}\nnull\n')).message).toMatch(/got null/);
    expect((await failureOf('42\n')).message).toMatch(/in\.jsonl:1: expected a JSON object, got number/);
    expect((await failureOf('[{"a":1}, 7]', 'x.json')).message).toMatch(/x\.json\[1\]: expected a JSON object, got number/);
  });

  it('refuses a broken JSON document', async () => {
    expect((await failureOf('[{"a":1},', 'x.json')).message).toMatch(/x\.json: not valid JSON/);
  });

  it('an empty file yields nothing', async () => {
    expect(await itemsOfText('')).toEqual([]);
    expect(await itemsOfText('\n\n')).toEqual([]);
  });

  it('a missing file is NOT_FOUND naming the path', async () => {
    const missing = join(dir, 'nope.jsonl');
    try {
      for await (const _ of readInputItems(missing)) void _;
      throw new Error('accepted');
    } catch (err) {
      expect(isTqError(err, 'NOT_FOUND')).toBe(true);
      expect((err as Error).message).toContain(missing);
    }
  });

  it("'-' reads stdin", async () => {
    const out = [];
    for await (const it of readInputItems('-', Readable.from([Buffer.from('{"a":1}\n{"a":2}\n')]))) out.push(it.item);
    expect(out).toEqual([{ a: 1 }, { a: 2 }]);
  });
});

async function failureOfSource(source: string, stdin?: Readable): Promise<TqError> {
  try {
    for await (const _ of readInputItems(source, stdin)) void _;
  } catch (err) {
    expect(isTqError(err)).toBe(true);
    return err as TqError;
  }
  throw new Error('input was accepted');
}

describe('readInputItems: bounded reads', () => {
  it('an endless source without line ends (/dev/zero) stops at the line limit, naming it', async () => {
    if (!existsSync('/dev/zero')) return;
    const e = await failureOfSource('/dev/zero');
    expect(e.code).toBe('INVALID_INPUT');
    expect(e.message).toBe('/dev/zero:1: line over the 16 MB limit for one work item (no line end within it)');
    expect(e.file).toBe('/dev/zero');
  });

  it('a JSONL line over the limit names its line; the lines before it were read', async () => {
    const file = join(dir, 'long.jsonl');
    await writeFile(file, `{"id":1}\n{"x":"${'y'.repeat(MAX_INPUT_LINE)}"}\n{"id":3}\n`);
    const seen: unknown[] = [];
    try {
      for await (const it of readInputItems(file)) seen.push(it.item);
      throw new Error('accepted');
    } catch (err) {
      expect(isTqError(err, 'INVALID_INPUT')).toBe(true);
      expect((err as Error).message).toMatch(/long\.jsonl:2: line over the 16 MB limit/);
    }
    expect(seen).toEqual([{ id: 1 }]);
  });

  it('a JSON document over its limit stops there (a sparse file that starts with "[")', async () => {
    const file = join(dir, 'huge.json');
    await writeFile(file, '[');
    await truncate(file, MAX_INPUT_DOCUMENT + 4096);
    const e = await failureOfSource(file);
    expect(e.code).toBe('INVALID_INPUT');
    expect(e.message).toMatch(/huge\.json: JSON document over the 128 MB limit for an input read whole/);
    expect(e.hint).toMatch(/JSONL/);
  });

  it('an endless stdin is stopped too', async () => {
    let pulled = 0;
    const endless = new Readable({
      read() {
        pulled += 1;
        this.push(Buffer.alloc(64 * 1024, 0x61));
      },
    });
    const e = await failureOfSource('-', endless);
    expect(e.message).toMatch(/^<stdin>:1: line over the 16 MB limit/);
    expect(endless.destroyed).toBe(true);
    expect(pulled * 64 * 1024).toBeLessThan(MAX_INPUT_LINE + 1024 * 1024);
  });

  it('keeps UTF-8 characters and CRLF line ends that are split across chunks', async () => {
    const bytes = Buffer.from('\ufeff{"t":"café ☕"}\r\n{"t":"ü"}\r\n');
    const oneByteChunks = Readable.from(Array.from(bytes, (b) => Buffer.from([b])));
    const out = [];
    for await (const it of readInputItems('-', oneByteChunks)) out.push(it.item);
    expect(out).toEqual([{ t: 'café ☕' }, { t: 'ü' }]);
  });

  it('a directory given as input is a clear error', async () => {
    const e = await failureOfSource(dir);
    expect(e.code).toBe('INVALID_INPUT');
    expect(e.message).toMatch(/cannot read input .*: EISDIR/);
  });
});

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { leaseMsOf, maxAttemptsOf, parsePipeline, retryDelayMs, rulesFrom } from '../../../src/core/model/pipeline.js';
import { isTqError, type TqError } from '../../../src/core/model/errors.js';
import { EXAMPLE_PIPELINE_FILE } from '../../helpers/make-run.js';

function refused(raw: unknown): TqError {
  try {
    parsePipeline(raw, 'p.json');
  } catch (err) {
    expect(isTqError(err, 'INVALID_PIPELINE')).toBe(true);
    return err as TqError;
  }
  throw new Error('pipeline was accepted');
}

describe('parsePipeline', () => {
  it('accepts the exact pipeline in examples/pipeline.json', () => {
    const p = parsePipeline(JSON.parse(readFileSync(EXAMPLE_PIPELINE_FILE, 'utf8')), EXAMPLE_PIPELINE_FILE);
    expect(Object.keys(p.stages)).toEqual(['parse', 'translate', 'curate']);
    expect(p.cascade).toHaveLength(2);
    expect(leaseMsOf(p, 'parse')).toBe(600_000);
    expect(leaseMsOf(p, 'translate')).toBe(1_800_000);
    expect(leaseMsOf(p, 'curate')).toBe(900_000); // default 15m
    expect(maxAttemptsOf(p, 'parse')).toBe(3);
    expect(rulesFrom(p, 'translate')[0]?.rule).toMatchObject({ for_each: 'new_nouns', key: 'noun' });
    expect(rulesFrom(p, 'curate')).toEqual([]);
  });

  it('rejects a cycle, naming the cascade field and the loop', () => {
    const e = refused({ stages: { a: {}, b: {}, c: {} }, cascade: [{ from: 'a', to: 'b' }, { from: 'b', to: 'c' }, { from: 'c', to: 'a' }] });
    expect(e.field).toBe('cascade');
    expect(e.message).toMatch(/cycle/);
    expect(e.message).toMatch(/a -> b -> c -> a/);
    expect(refused({ stages: { a: {} }, cascade: [{ from: 'a', to: 'a' }] }).message).toMatch(/cycle/);
  });

  it('rejects unknown stages in cascade rules, naming the field', () => {
    expect(refused({ stages: { a: {} }, cascade: [{ from: 'a', to: 'nope' }] }).field).toBe('cascade.0.to');
    expect(refused({ stages: { a: {} }, cascade: [{ from: 'zz', to: 'a' }] }).field).toBe('cascade.0.from');
  });

  it('rejects key without for_each, naming the field', () => {
    const e = refused({ stages: { a: {}, b: {} }, cascade: [{ from: 'a', to: 'b', key: 'noun' }] });
    expect(e.field).toBe('cascade.0.key');
    expect(e.message).toContain('cascade.0.key');
  });

  it('rejects bad shapes, stage names and leases with field names', () => {
    expect(refused({}).field).toBe('stages');
    expect(refused({ stages: {} }).field).toBe('stages');
    expect(refused({ stages: { 'bad-name': {} } }).field).toBe('stages.bad-name');
    expect(refused({ stages: { '../x': {} } }).field).toBe('stages.../x');
    expect(refused({ stages: { a: { lease: 'soon' } } }).field).toBe('stages.a.lease');
    expect(refused({ stages: { a: { max_attempts: 0 } } }).field).toBe('stages.a.max_attempts');
    expect(refused({ stages: { a: {}, b: {} }, cascade: [{ from: 'a', to: 'b', for_each: ' ' }] }).field).toBe('cascade.0.for_each');
    expect(refused([]).message).toContain('p.json');
  });

  it('refuses a lease over the 30d limit, naming the file, the field and the limit', () => {
    const e = refused({ stages: { parse: { lease: '100000000000h' } } });
    expect(e.code).toBe('INVALID_PIPELINE');
    expect(e.field).toBe('stages.parse.lease');
    expect(e.message).toBe('p.json: stages.parse.lease "100000000000h" is over the 30d limit');
    expect(refused({ stages: { parse: { lease: 1e12 } } }).message).toMatch(/over the 30d limit/);
    expect(parsePipeline({ stages: { parse: { lease: '30d' } } }, 'p.json').stages.parse?.lease).toBe('30d');
  });

  it('tags rules when several feed the same stage', () => {
    const p = parsePipeline({ stages: { a: {}, b: {}, c: {} }, cascade: [{ from: 'a', to: 'c' }, { from: 'b', to: 'c' }] }, 'p');
    expect(rulesFrom(p, 'a')[0]?.tag).toBe('r0');
    expect(rulesFrom(p, 'b')[0]?.tag).toBe('r1');
  });
});

describe('retry policy', () => {
  const withRetry = (retry: unknown): unknown => ({ stages: { a: { retry } } });

  it('exponential (the default backoff) doubles from delay up to max; fixed stays at delay; none retries at once', () => {
    const p = parsePipeline(withRetry({ delay: '30s', max: '5m' }), 'p.json');
    expect([1, 2, 3, 4, 5, 6].map((n) => retryDelayMs(p, 'a', n))).toEqual([30_000, 60_000, 120_000, 240_000, 300_000, 300_000]);
    const fixed = parsePipeline(withRetry({ backoff: 'fixed', delay: '1m' }), 'p.json');
    expect([1, 2, 9].map((n) => retryDelayMs(fixed, 'a', n))).toEqual([60_000, 60_000, 60_000]);
    expect(retryDelayMs(parsePipeline({ stages: { a: {} } }, 'p.json'), 'a', 3)).toBe(0);
    // Without max, the cap is the longest duration tq accepts (never an invalid Date).
    expect(retryDelayMs(parsePipeline(withRetry({ delay: '1h' }), 'p.json'), 'a', 500)).toBe(30 * 86_400_000);
  });

  it('refuses a bad delay, max or backoff, naming the field', () => {
    expect(refused(withRetry({ delay: 'soon' })).field).toBe('stages.a.retry.delay');
    expect(refused(withRetry({ delay: '10s', max: '31d' })).field).toBe('stages.a.retry.max');
    expect(refused(withRetry({ backoff: 'linear', delay: '10s' })).field).toBe('stages.a.retry.backoff');
    expect(refused(withRetry({ backoff: 'fixed' })).field).toBe('stages.a.retry.delay');
  });
});

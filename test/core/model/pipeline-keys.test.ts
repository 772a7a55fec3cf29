import { describe, expect, it } from 'vitest';
import { CascadeRule, PIPELINE_KEYS, Pipeline, RetryPolicy, StageConfig, parsePipeline } from '../../../src/core/model/pipeline.js';
import { isTqError, type TqError } from '../../../src/core/model/errors.js';
import { parseRunConfig } from '../../../src/core/store/run-context.js';

function refused(raw: unknown): TqError {
  try {
    parsePipeline(raw, 'p.json');
  } catch (err) {
    expect(isTqError(err, 'INVALID_PIPELINE')).toBe(true);
    return err as TqError;
  }
  throw new Error('pipeline was accepted');
}

describe('unknown keys in a pipeline file', () => {
  it('a stage key: names the file, the key path and the closest known key', () => {
    const e = refused({ stages: { parse: { lease: '10m', max_attempt: 5 } } });
    expect(e.message).toBe('p.json: unknown key stages.parse.max_attempt; did you mean "max_attempts"?');
    expect(e).toMatchObject({ file: 'p.json', field: 'stages.parse.max_attempt' });
    expect(e.hint).toContain(`the keys of a stage are: ${Object.keys(StageConfig.shape).join(', ')}`);
  });

  it('a top-level key and a cascade rule key, all listed, each with its own suggestion', () => {
    const e = refused({ stages: { a: {}, b: {} }, cascades: [], cascade: [{ from: 'a', to: 'b', foreach: 'x' }] });
    expect(e.message).toBe('p.json: unknown key cascades; did you mean "cascade"?; unknown key cascade.0.foreach; did you mean "for_each"?');
    expect(e.field).toBe('cascades');
  });

  it('a key like no known one gets no suggestion', () => {
    const e = refused({ stages: { parse: { priority_queue: { boost: '1m' } } } });
    expect(e.message).toBe('p.json: unknown key stages.parse.priority_queue');
    expect(e.field).toBe('stages.parse.priority_queue');
  });

  it('a retry policy key: named with its path and the closest known key', () => {
    const e = refused({ stages: { parse: { retry: { delay: '30s', mx: '1h' } } } });
    expect(e.message).toBe('p.json: unknown key stages.parse.retry.mx; did you mean "max"?');
    expect(e.hint).toContain('the keys of a retry policy are: backoff, delay, max');
  });

  it('the known keys are the zod shapes (declaring a key there is enough)', () => {
    expect(PIPELINE_KEYS).toEqual({ pipeline: Object.keys(Pipeline.shape), stage: Object.keys(StageConfig.shape), 'cascade rule': Object.keys(CascadeRule.shape), 'retry policy': Object.keys(RetryPolicy.shape) });
    expect(PIPELINE_KEYS.stage).toContain('max_attempts');
    for (const key of PIPELINE_KEYS.stage) expect(() => parsePipeline({ stages: { a: { [key]: undefined } } }, 'p.json')).not.toThrow();
  });

  it('unknownKeys "ignore" drops them (a stored run.json still opens)', () => {
    const p = parsePipeline({ stages: { parse: { max_attempt: 5 } }, extra: 1 }, 'run.json', { unknownKeys: 'ignore' });
    expect(p.stages.parse).toEqual({});
    const runJson = JSON.stringify({ schema_version: 1, run_id: 'r', created_at: '2030-01-01T00:00:00.000Z', pipeline: { stages: { parse: { max_attempt: 5 } }, cascade: [], retry: true } });
    expect(parseRunConfig(runJson, 'run.json').pipeline).toEqual({ stages: { parse: {} }, cascade: [] });
  });
});

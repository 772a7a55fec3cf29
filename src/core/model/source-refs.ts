import { DEFAULT_SOURCE_REF_FIELDS, type Pipeline } from './pipeline.js';

/** Collect source references (e.g. dialogue node ids like 0x14dfea) from an item's id fields. */
export function sourceRefsOf(pipeline: Pipeline, item: unknown): string[] {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) return [];
  const fields = pipeline.source_ref_fields ?? DEFAULT_SOURCE_REF_FIELDS;
  const refs: string[] = [];
  const record = item as Record<string, unknown>;
  for (const field of fields) {
    const value = record[field];
    if (typeof value === 'string' || typeof value === 'number') refs.push(String(value));
    else if (Array.isArray(value)) {
      for (const v of value) if (typeof v === 'string' || typeof v === 'number') refs.push(String(v));
    }
  }
  return refs;
}

export function mergeRefs(...lists: string[][]): string[] {
  return [...new Set(lists.flat())];
}

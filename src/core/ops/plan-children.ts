import { childTicketId } from '../model/ids.js';
import { newTicket } from '../model/new-ticket.js';
import { rulesFrom, type Pipeline } from '../model/pipeline.js';
import { mergeRefs, sourceRefsOf } from '../model/source-refs.js';
import type { JsonObject, Ticket } from '../model/ticket-schema.js';

export interface PlannedChild {
  ticket: Ticket;
  key?: string;
}

export interface ChildPlan {
  children: PlannedChild[];
  /** Problems with the output that make a rule unusable ("output_data.new_nouns is not an array"). */
  problems: string[];
}

/** Read a dot path ("a.b.c") from an object. */
export function getPath(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** Check an output against the pipeline's for_each/key rules; returns problems (empty = fine). */
export function checkCascadeOutput(pipeline: Pipeline, stage: string, output: JsonObject): string[] {
  const problems: string[] = [];
  for (const { rule } of rulesFrom(pipeline, stage)) {
    if (rule.for_each === undefined) continue;
    const list = getPath(output, rule.for_each);
    if (list === undefined || list === null) continue;
    if (!Array.isArray(list)) {
      problems.push(`output_data.${rule.for_each} must be an array (cascade rule ${stage} -> ${rule.to}), got ${typeof list}`);
      continue;
    }
    if (rule.key !== undefined) {
      list.forEach((el, i) => {
        const key = keyOf(el, rule.key as string);
        if (key === undefined) problems.push(`output_data.${rule.for_each}.${i}.${rule.key} is missing (it is the de-duplication key for ${rule.to})`);
      });
    }
  }
  return problems;
}

function keyOf(element: unknown, key: string): string | undefined {
  const v = typeof element === 'object' && element !== null ? (element as Record<string, unknown>)[key] : element;
  if (typeof v === 'string' && v.trim() !== '') return v.trim();
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

/** The input_data of the child made from one for_each element: objects as they are, other values as {"value": …}. */
function elementInput(element: unknown): JsonObject {
  return typeof element === 'object' && element !== null && !Array.isArray(element) ? (element as JsonObject) : { value: element };
}

export interface ChildInput {
  to: string;
  input: JsonObject;
  /** Where in the output it comes from: `output_data.new_nouns[0]`, and as a JSON pointer into output_data: `/new_nouns/0`. */
  from: string;
  pointer: string;
}

/** The input each cascade rule would give a child of this output, and where in the output it comes from. */
export function childInputs(pipeline: Pipeline, stage: string, output: JsonObject): ChildInput[] {
  const inputs: ChildInput[] = [];
  for (const { rule } of rulesFrom(pipeline, stage)) {
    if (rule.for_each === undefined) {
      inputs.push({ to: rule.to, input: output, from: 'output_data', pointer: '' });
      continue;
    }
    const list = getPath(output, rule.for_each);
    const at = `/${rule.for_each.split('.').map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}`;
    if (Array.isArray(list)) list.forEach((element, i) => inputs.push({ to: rule.to, input: elementInput(element), from: `output_data.${rule.for_each}[${i}]`, pointer: `${at}/${i}` }));
  }
  return inputs;
}

/**
 * The children a completed ticket's cascade rules ask for, with deterministic ids. `runId` is the
 * run's own id: a child never takes it from the parent's JSON.
 */
export function planChildren(pipeline: Pipeline, parent: Ticket, now: Date, runId: string): ChildPlan {
  const output = parent.output_data ?? {};
  const problems = checkCascadeOutput(pipeline, parent.worker_type, output);
  const children: PlannedChild[] = [];
  for (const { rule, tag } of rulesFrom(pipeline, parent.worker_type)) {
    // Why the parent's priority: an urgent work item stays urgent in every stage it flows through.
    const base = { runId, stage: rule.to, now, pipeline, event: `cascaded from ${parent.ticket_id}`, ...(parent.priority ? { priority: parent.priority } : {}) };
    const lineage = { parents: [parent.ticket_id], root_id: parent.lineage.root_id };
    if (rule.for_each === undefined) {
      children.push({
        ticket: newTicket({
          ...base,
          input: output,
          ticketId: childTicketId({ to: rule.to, parentId: parent.ticket_id, ...(tag ? { ruleTag: tag } : {}) }),
          lineage: { ...lineage, source_refs: mergeRefs(parent.lineage.source_refs, sourceRefsOf(pipeline, output)) },
        }),
      });
      continue;
    }
    const list = getPath(output, rule.for_each);
    if (!Array.isArray(list)) continue;
    list.forEach((element, index) => {
      const input = elementInput(element);
      const key = rule.key !== undefined ? keyOf(element, rule.key) : undefined;
      if (rule.key !== undefined && key === undefined) return;
      const ticketId = childTicketId(key !== undefined ? { to: rule.to, parentId: parent.ticket_id, key } : { to: rule.to, parentId: parent.ticket_id, index, ...(tag ? { ruleTag: tag } : {}) });
      children.push({
        ticket: newTicket({
          ...base,
          input,
          ticketId,
          lineage: { ...lineage, source_refs: mergeRefs(parent.lineage.source_refs, sourceRefsOf(pipeline, input)), ...(key !== undefined ? { key } : {}) },
        }),
        ...(key !== undefined ? { key } : {}),
      });
    });
  }
  return { children, problems };
}

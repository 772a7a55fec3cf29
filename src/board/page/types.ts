/** The JSON the board's API answers with (the parts the page reads). */
export type State = 'pending' | 'claimed' | 'completed' | 'failed' | 'needs_review';
export const STATES: State[] = ['pending', 'claimed', 'completed', 'needs_review', 'failed'];
export type Level = 'info' | 'review' | 'error';

export interface StageProgress {
  stage: string;
  total: number;
  completed: number;
  needs_review: number;
  failed: number;
  pending: number;
  claimed: number;
  per_hour: number | null;
  eta_ms: number | null;
}

export interface Claim {
  worker_id: string;
  ticket_id: string;
  stage: string;
  lease_left_ms: number | null;
  stalled: boolean;
}

export interface Snapshot {
  run_id: string;
  at: string;
  stages: StageProgress[];
  claims: Claim[];
  stalled: number;
  concern_counts: Record<Level, number>;
  in_flight: number;
  rejected_outputs: number;
  quarantined: number;
}

export interface Overview {
  runs: { run_id: string; snapshot?: Snapshot; error?: string }[];
}

export interface TicketRow {
  ticket_id: string;
  state: State;
  stage: string;
  worker_id?: string;
  /** Claimed tickets: ms until the lease runs out (negative: expired, a stalled claim). */
  lease_left_ms?: number | null;
  stalled?: boolean;
}

export interface TicketPage {
  total: number;
  offset: number;
  items: TicketRow[];
}

export interface Concern {
  level: Level;
  message: string;
  suggestion?: string;
  at?: string;
}

export interface HistoryEvent {
  at: string;
  event: string;
  worker_id?: string;
  note?: string;
}

export interface Ticket {
  ticket_id: string;
  worker_type: string;
  input_data: unknown;
  output_data: unknown;
  worker_concerns: Concern[];
  usage: Record<string, unknown> | null;
  history: HistoryEvent[];
  lineage: { parents: string[]; source_refs: string[]; key?: string };
  claim: { worker_id: string; lease_expires_at: string } | null;
  attempts: number;
  created_at: string;
  completed_at: string | null;
}

export interface TicketDetails {
  ticket: Ticket;
  state: State;
  path: string;
  requested_by: string[];
  children: string[];
  duplicates: string[];
  rejected_outputs: { worker_id: string; reason: string; rejected_at: string; status: string; output_data: unknown; worker_concerns: Concern[]; path: string }[];
  logs: { name: string; text: string; truncated: boolean }[];
  lineage: { chains: string[][]; all_source_refs: string[]; truncated: boolean; nodes: Record<string, { state: string; stage: string }> };
}

export interface GraphNode {
  id: string;
  stage: string;
  state: string;
  concerns: Record<Level, number>;
  source_refs: string[];
}

export interface RunGraph {
  run_id: string;
  stages: string[];
  nodes: GraphNode[];
  edges: { from: string; to: string }[];
}

export interface StatsRow {
  submitted: number;
  completed: number;
  needs_review: number;
  failed: number;
  input_tokens: number;
  output_tokens: number;
  total_tokens: number;
  cost_usd: number;
  work_ms: number;
  held_ms: number;
  completed_per_hour: number | null;
  reaps: number;
  concerns: Record<Level, number>;
}

export interface RunStats {
  stages: Record<string, StatsRow>;
  workers: Record<string, StatsRow>;
  totals: StatsRow;
}

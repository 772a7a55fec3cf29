/** The directory a ticket file sits in is its state; these are the state directory names. */
export const TicketState = {
  pending: 'pending',
  claimed: 'claimed',
  completed: 'completed',
  failed: 'failed',
  needs_review: 'needs_review',
} as const;

export type TicketState = (typeof TicketState)[keyof typeof TicketState];

export const ALL_STATES: readonly TicketState[] = Object.values(TicketState);

/** States a worker may submit into. */
export const SUBMIT_STATES = [TicketState.completed, TicketState.needs_review, TicketState.failed] as const;
export type SubmitState = (typeof SUBMIT_STATES)[number];

export function isTicketState(value: string): value is TicketState {
  return (ALL_STATES as readonly string[]).includes(value);
}

export const CONCERN_LEVELS = ['info', 'review', 'error'] as const;
export type ConcernLevel = (typeof CONCERN_LEVELS)[number];

/** States a ticket leaves only by an operator's approve or requeue: a move into one never replaces a file. */
export const FINISHED_STATES = [TicketState.completed, TicketState.failed, TicketState.needs_review] as const;
export type FinishedState = (typeof FINISHED_STATES)[number];

export function isFinishedState(state: TicketState): state is FinishedState {
  return (FINISHED_STATES as readonly TicketState[]).includes(state);
}

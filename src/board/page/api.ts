/** Requests to the board's API. Actions carry the header the server requires of them. */
export async function getJson<T>(path: string): Promise<T> {
  const res = await fetch(path, { headers: { accept: 'application/json' }, credentials: 'same-origin' });
  const body = (await res.json()) as T & { error?: { message: string } };
  if (!res.ok) throw new Error(body.error?.message ?? `${res.status} ${res.statusText}`);
  return body;
}

export async function postAction(run: string, ticket: string, action: string): Promise<unknown> {
  const path = `/api/runs/${encodeURIComponent(run)}/tickets/${encodeURIComponent(ticket)}/${action}`;
  const res = await fetch(path, { method: 'POST', headers: { 'x-tq-board': '1' }, credentials: 'same-origin' });
  const body = (await res.json()) as { error?: { message: string } };
  if (!res.ok) throw new Error(body.error?.message ?? `${res.status} ${res.statusText}`);
  return body;
}

export function runPath(run: string, ...rest: string[]): string {
  return ['/api/runs', encodeURIComponent(run), ...rest].join('/');
}

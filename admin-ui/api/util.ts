import type { UiContext } from '../context.js';
import { NOT_AVAILABLE, type ApplyResult } from '../services.js';

/** The request's JSON object, or undefined (the caller answers 400). */
export async function jsonBody(c: UiContext): Promise<Record<string, unknown> | undefined> {
  try {
    const v: unknown = await c.req.json();
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export const badRequest = (c: UiContext, message: string) => c.json({ code: 'invalid_request', message, details: [] }, 400);
export const notAvailable = (c: UiContext, what: string) =>
  c.json({ code: 'not_found', message: `${what}: ${NOT_AVAILABLE}`, details: [] }, 501);

export function applyResponse(c: UiContext, r: ApplyResult) {
  if (r.ok) return c.json(r, 200);
  return c.json(
    { code: 'invalid_request', message: 'configuration refused', details: r.problems.map((p) => ({ path: p.path, problem: p.message })) },
    422,
  );
}

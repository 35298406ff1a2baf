import type { Context } from 'hono';
import type { JSX } from 'hono/jsx/jsx-runtime';

export async function render(c: Context, node: JSX.Element, status: 200 | 400 | 401 | 403 | 404 | 409 | 422 | 500 = 200): Promise<Response> {
  return c.html('<!doctype html>' + (await node.toString()), status);
}

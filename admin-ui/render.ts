import type { Context } from 'hono';
import type { JSX } from 'hono/jsx/jsx-runtime';

export async function render(
  c: Context,
  node: JSX.Element,
  status: 200 | 400 | 401 | 403 | 404 | 409 | 422 | 500 = 200,
): Promise<Response> {
  // why: hono types a JSX element as string | Promise<string>; its node's toString() may return either at run time.
  // eslint-disable-next-line @typescript-eslint/await-thenable
  return c.html('<!doctype html>' + (await node.toString()), status);
}

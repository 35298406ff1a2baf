// A logged-in session on a running appliance's admin UI over its HTTPS listener (no browser):
// what an operator's browser does without JavaScript — GET /login, POST the form, keep the cookie.
import { readFileSync } from 'node:fs';
import { request } from 'node:https';

export interface UiResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export interface UiSession {
  get(path: string): Promise<UiResponse>;
  /** Form post (application/x-www-form-urlencoded) with the session's CSRF token. */
  post(path: string, fields: Record<string, string>): Promise<UiResponse>;
}

function call(url: string, ca: string, method: 'GET' | 'POST', cookie: string, body?: string): Promise<UiResponse> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        ca,
        headers: {
          ...(cookie ? { cookie } : {}),
          ...(body !== undefined ? { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const cookieOf = (r: UiResponse) =>
  ([] as string[])
    .concat(r.headers['set-cookie'] ?? [])
    .map((c) => c.split(';')[0]!)
    .join('; ');
const csrfOf = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)?.[1];

/** Logs `user` in at `baseUrl`; `caFile` is the UI's certificate (dataDir/ui-tls/ui.pem for the generated one). */
export async function uiLogin(baseUrl: string, caFile: string, user: string, password: string): Promise<UiSession> {
  const ca = readFileSync(caFile, 'utf8');
  const form = await call(`${baseUrl}/login`, ca, 'GET', '');
  const loginToken = csrfOf(form.text);
  if (!loginToken) throw new Error(`no login form at ${baseUrl}/login (${form.status})`);
  const r = await call(
    `${baseUrl}/login`,
    ca,
    'POST',
    cookieOf(form),
    new URLSearchParams({ _csrf: loginToken, username: user, password }).toString(),
  );
  const cookie = cookieOf(r);
  if (r.status !== 303 || !cookie) throw new Error(`login as ${user} failed (${r.status})`);
  let csrf: string | undefined;
  return {
    get: (path) => call(`${baseUrl}${path}`, ca, 'GET', cookie),
    async post(path, fields) {
      csrf ??=
        csrfOf((await call(`${baseUrl}/keys`, ca, 'GET', cookie)).text) ?? csrfOf((await call(`${baseUrl}/`, ca, 'GET', cookie)).text);
      if (!csrf) throw new Error("no CSRF token on the session's pages");
      return call(`${baseUrl}${path}`, ca, 'POST', cookie, new URLSearchParams({ _csrf: csrf, ...fields }).toString());
    },
  };
}

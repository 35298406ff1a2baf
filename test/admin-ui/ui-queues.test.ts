// Queues per uplink in the real appliance (embedded default: the `simulated` link): after traffic over
// the link, the Queues page and the dashboard list every link with its depth, oldest age and dead
// letters as the uplink counts them, and a depth chart fed by the appliance's own sampling.
// Assertions read ids, data- attributes and numbers, not words (the UI text is translated).
import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MONITOR, startUiAppliance, type UiAppliance } from './ui-appliance.js';

let a: UiAppliance;
let cookie = '';

function call(
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<{ status: number; cookies: string[]; text: string }> {
  const u = new URL(a.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, method, path, headers, rejectUnauthorized: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () =>
        resolve({
          status: res.statusCode!,
          cookies: (res.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]!),
          text: Buffer.concat(chunks).toString(),
        }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function page(path: string): Promise<string> {
  const r = await call('GET', path, { cookie });
  expect(r.status, path).toBe(200);
  return r.text;
}

/** Attributes of the first element matching `tag` with `attr="value"`. */
function attrs(html: string, tag: string, attr: string, value: string): Record<string, string> {
  const m = new RegExp(`<${tag}\\b[^>]*\\b${attr}="${value}"[^>]*>`).exec(html);
  expect(m, `<${tag} ${attr}="${value}">`).not.toBeNull();
  return Object.fromEntries([...m![0].matchAll(/([a-z-]+)="([^"]*)"/g)].map((x) => [x[1]!, x[2]!]));
}

/** Text of each cell of the table row that contains `marker`. */
function rowCells(html: string, marker: string): string[] {
  const row = [...html.matchAll(/<tr\b[^>]*>([\s\S]*?)<\/tr>/g)].find((r) => r[0].includes(marker));
  expect(row, marker).toBeDefined();
  return [...row![1]!.matchAll(/<td\b[^>]*>([\s\S]*?)<\/td>/g)].map((c) => c[1]!.replace(/<[^>]+>/g, '').trim());
}

beforeAll(async () => {
  a = await startUiAppliance();
  const login = await call('GET', '/login');
  const csrf = /name="_csrf" value="([^"]+)"/.exec(login.text)![1]!;
  const form = new URLSearchParams({ _csrf: csrf, username: MONITOR.user, password: MONITOR.password }).toString();
  const r = await call('POST', '/login', { cookie: login.cookies[0]!, 'content-type': 'application/x-www-form-urlencoded' }, form);
  expect(r.status).toBe(303);
  cookie = r.cookies.find((c) => c.startsWith('__Host-jgw_session='))!;
}, 120_000);
afterAll(async () => {
  await a?.close();
});

describe('queues per uplink in the running appliance', () => {
  it('lists every link with its figures and depth history on the Queues page and the dashboard', async () => {
    const reply = await a.searchUpstream();
    expect(reply.type).toBe('identity.search.result');
    const uplink = a.app.parts.uplink!;
    const links = uplink.linkStatus().map((l) => l.name);
    expect(links).toEqual(['simulated']);

    const queues = await page('/queues');
    const dashboard = await page('/');
    const stats = uplink.queueStats();
    for (const name of links) {
      const s = stats[name]!;
      // The table rows: name, depth, oldest, dead letters.
      const row = rowCells(queues, `data-queue="${name}"`);
      expect([row[0], row[1], row[3]]).toEqual([name, String(s.depth), String(s.dead)]);
      const dashRow = rowCells(dashboard.slice(dashboard.indexOf('id="queues"')), `href="/queues/${name}"`);
      expect([dashRow[0], dashRow[1], dashRow[3]]).toEqual([name, String(s.depth), String(s.dead)]);
      for (const html of [queues, dashboard]) {
        const fig = attrs(html, 'figure', 'data-link', name);
        expect(fig).toMatchObject({
          'data-depth': String(s.depth),
          'data-dead-letters': String(s.dead),
          'data-oldest-ms': s.depth ? expect.stringMatching(/^\d+$/) : '',
        });
        const chart = attrs(html, 'svg', 'data-depth-chart', name);
        // Sampled from the start of the appliance on: at least one sample, each a depth.
        expect(Number(chart['data-samples'])).toBeGreaterThanOrEqual(1);
        expect(chart['data-depths']!.split(',').every((d) => /^\d+$/.test(d))).toBe(true);
        expect(chart['data-now-depth']).toBe(String(s.depth));
        expect(attrs(html, 'section', 'id', 'queue-depth')).toMatchObject({ 'data-sample-ms': '30000', 'data-window-ms': '3600000' });
      }
    }
  });
});

// The Queues page and the dashboard in Chromium over the real appliance (embedded default, simulated
// upstreams): after traffic over the `simulated` link, the page shows the link's row with its figures
// and a drawn depth chart. Assertions read ids, data- attributes and numbers, not words.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../helpers/browser.js';
import { MONITOR, startUiAppliance, type UiAppliance } from './ui-appliance.js';

let a: UiAppliance;
let browser: Browser;
let page: Page;
const browserProblems: string[] = [];

beforeAll(async () => {
  a = await startUiAppliance();
  browser = await launchChromium({ ignoreCertificateErrors: true });
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 } });
  ctx.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) browserProblems.push(m.text());
  });
  ctx.on('weberror', (e) => {
    browserProblems.push(e.error().message);
  });
  page = await ctx.newPage();
  await page.goto(`${a.url}/login`);
  await page.fill('#username', MONITOR.user);
  await page.fill('#password', MONITOR.password);
  await Promise.all([page.waitForNavigation(), page.click('#login')]);
  expect(new URL(page.url()).pathname).toBe('/');
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await a?.close();
});

/** The figure of a link as the browser lays it out: its attributes, and the chart's drawn size and points. */
async function shownChart(p: Page, link: string) {
  const fig = p.locator(`figure[data-link="${link}"]`);
  await expect(fig.isVisible()).resolves.toBe(true);
  const svg = fig.locator(`svg[data-depth-chart="${link}"]`);
  const box = await svg.boundingBox();
  return {
    depth: await fig.getAttribute('data-depth'),
    dead: await fig.getAttribute('data-dead-letters'),
    samples: Number(await svg.getAttribute('data-samples')),
    width: box?.width ?? 0,
    height: box?.height ?? 0,
    points: ((await svg.locator('polyline').getAttribute('points')) ?? '').trim().split(/\s+/).length,
    circles: await svg.locator('circle').count(),
  };
}

describe('Queues page and dashboard in Chromium', () => {
  it('show the simulated link with its depth, dead letters and a drawn depth chart', async () => {
    const reply = await a.searchUpstream();
    expect(reply.type).toBe('identity.search.result');
    const stats = a.app.parts.uplink!.queueStats();
    const links = Object.keys(stats);
    expect(links).toEqual(['simulated']);

    await page.goto(`${a.url}/queues`);
    for (const link of links) {
      const cells = await page.locator(`#queue-list tr[data-queue="${link}"] td`).allTextContents();
      expect([cells[0], cells[1], cells[3]]).toEqual([link, String(stats[link]!.depth), String(stats[link]!.dead)]);
      const chart = await shownChart(page, link);
      expect(chart).toMatchObject({ depth: String(stats[link]!.depth), dead: String(stats[link]!.dead) });
      expect(chart.samples).toBeGreaterThanOrEqual(1);
      // Every sample and the live depth are drawn, on a chart that takes room on the page.
      expect(chart.points).toBe(chart.samples + 1);
      expect(chart.circles).toBe(chart.samples + 1);
      expect(chart.width).toBeGreaterThan(200);
      expect(chart.height).toBeGreaterThan(30);
    }
    await expect(page.locator('#queue-depth').getAttribute('data-sample-ms')).resolves.toBe('30000');

    await page.goto(a.url);
    for (const link of links) {
      const cells = await page.locator(`#queues tr:has(a[href="/queues/${link}"]) td`).allTextContents();
      expect([cells[0], cells[1], cells[3]]).toEqual([link, String(stats[link]!.depth), String(stats[link]!.dead)]);
      const chart = await shownChart(page, link);
      expect(chart.points).toBe(chart.samples + 1);
      expect(chart.width).toBeGreaterThan(200);
    }
    // The link's name on the chart leads to its queue.
    await Promise.all([page.waitForNavigation(), page.click('figure[data-link="simulated"] figcaption a')]);
    expect(new URL(page.url()).pathname).toBe('/queues/simulated');
    expect(browserProblems).toEqual([]);
  });
});

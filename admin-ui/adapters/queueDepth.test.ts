import { describe, expect, it } from 'vitest';
import { renderToString } from 'hono/jsx/dom/server';
import { QueueDepthCharts } from '../queueDepth.js';
import { DEPTH_SAMPLE_MS, DEPTH_WINDOW_MS, queueDepthSampler } from './queueDepth.js';
import { catalogue } from '../i18n/index.js';
import { createTimeFormatter } from '../time.js';

const MIN = 60_000;

describe('queue depth sampler', () => {
  it('keeps one bounded ring per link: the last hour at 30 s, oldest dropped first', async () => {
    let t = 0;
    const depths: Record<string, number> = { simulated: 0, 'juki-net': 5 };
    const s = queueDepthSampler(async () => Object.entries(depths).map(([name, depth]) => ({ name, depth })), {
      now: () => t,
      timer: false,
    });
    // Three hours of samples, the simulated link's depth climbing by one each time.
    for (let i = 0; i < 360; i++) {
      t = i * DEPTH_SAMPLE_MS;
      depths.simulated = i;
      await s.sample();
    }
    const h = s.history();
    expect(h).toMatchObject({ intervalMs: 30_000, windowMs: 3_600_000 });
    expect(h.links.simulated).toHaveLength(DEPTH_WINDOW_MS / DEPTH_SAMPLE_MS + 1);
    expect(h.links.simulated![0]).toEqual({ atMs: t - 60 * MIN, depth: 239 });
    expect(h.links.simulated!.at(-1)).toEqual({ atMs: t, depth: 359 });
    expect(new Set(h.links['juki-net']!.map((x) => x.depth))).toEqual(new Set([5]));
  });

  it('shows only the last hour when sampling paused, drops a removed link, and skips a failed read', async () => {
    let t = 0;
    let links = [
      { name: 'a', depth: 1 },
      { name: 'b', depth: 2 },
    ];
    let fail = false;
    const s = queueDepthSampler(
      async () => {
        if (fail) throw new Error('store closed');
        return links;
      },
      { now: () => t, timer: false },
    );
    await s.sample();
    t = 30 * MIN;
    links = [{ name: 'a', depth: 3 }];
    await s.sample();
    expect(Object.keys(s.history().links)).toEqual(['a']);
    fail = true;
    t = 61 * MIN;
    await s.sample();
    expect(s.history().links.a).toEqual([{ atMs: 30 * MIN, depth: 3 }]);
  });
});

describe('queue depth charts', () => {
  it("draw each link's samples and its live depth, with the figures as attributes", () => {
    const now = 10 * 3_600_000;
    const html = renderToString(
      QueueDepthCharts({
        v: { lang: 'en', t: catalogue('en'), time: createTimeFormatter('Asia/Tokyo') },
        queues: [
          { name: 'simulated', depth: 2, oldestAgeMs: 4_000, deadLetters: 1 },
          { name: 'idle', depth: 0, oldestAgeMs: null, deadLetters: 0 },
        ],
        history: {
          intervalMs: 30_000,
          windowMs: 3_600_000,
          links: {
            simulated: [
              { atMs: now - 60_000, depth: 7 },
              { atMs: now - 30_000, depth: 3 },
            ],
          },
        },
        nowMs: now,
      }),
    );
    expect(html).toMatch(/<figure data-link="simulated" data-depth="2" data-oldest-ms="4000" data-dead-letters="1">/);
    expect(html).toMatch(/<svg [^>]*data-depth-chart="simulated" data-samples="2" data-depths="7,3" data-now-depth="2" data-max="7"/);
    // The link without samples yet still has its chart: just the live point.
    expect(html).toMatch(/<figure data-link="idle" data-depth="0" data-oldest-ms="" data-dead-letters="0">/);
    expect(html).toMatch(/data-depth-chart="idle" data-samples="0" data-depths="" data-now-depth="0" data-max="0"/);
    expect(html.match(/<circle /g)).toHaveLength(4);
  });
});

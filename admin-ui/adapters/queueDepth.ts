// Depth of each uplink queue over the last hour, for the Queues page and the dashboard. The outbox keeps
// only the present, so the running appliance samples it: a bounded ring per link in memory (an hour
// at 30 s = 121 samples), empty again after a restart.
import type { DepthSample, QueueDepthHistory } from '../services.js';

export const DEPTH_SAMPLE_MS = 30_000;
export const DEPTH_WINDOW_MS = 3_600_000;

export interface QueueDepthSampler {
  /** Takes one sample of every link now (the timer calls this). */
  sample(): Promise<void>;
  history(): QueueDepthHistory;
  stop(): void;
}

export function queueDepthSampler(
  read: () => Promise<Array<{ name: string; depth: number }>>,
  opts: {
    intervalMs?: number;
    windowMs?: number;
    now?: () => number;
    timer?: boolean;
  } = {},
): QueueDepthSampler {
  const intervalMs = opts.intervalMs ?? DEPTH_SAMPLE_MS;
  const windowMs = opts.windowMs ?? DEPTH_WINDOW_MS;
  const now = opts.now ?? Date.now;
  const capacity = Math.floor(windowMs / intervalMs) + 1;
  const rings = new Map<string, DepthSample[]>();
  const sample = async () => {
    let links: Array<{ name: string; depth: number }>;
    // A failed read leaves a gap in the chart; the page shows the live figures beside it anyway.
    try {
      links = await read();
    } catch {
      return;
    }
    const atMs = now();
    const seen = new Set<string>();
    for (const { name, depth } of links) {
      seen.add(name);
      const ring = rings.get(name) ?? [];
      ring.push({ atMs, depth });
      if (ring.length > capacity) ring.splice(0, ring.length - capacity);
      rings.set(name, ring);
    }
    // A link removed from the configuration takes its history with it.
    for (const name of rings.keys()) if (!seen.has(name)) rings.delete(name);
  };
  let timer: NodeJS.Timeout | undefined;
  if (opts.timer !== false) {
    void sample();
    timer = setInterval(() => {
      void sample();
    }, intervalMs);
    timer.unref();
  }
  return {
    sample,
    history() {
      const from = now() - windowMs;
      const links: Record<string, DepthSample[]> = {};
      for (const [name, ring] of rings) links[name] = ring.filter((s) => s.atMs >= from);
      return { intervalMs, windowMs, links };
    },
    stop() {
      if (timer) clearInterval(timer);
    },
  };
}

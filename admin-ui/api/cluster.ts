// /api/v1/cluster: this node's role, applied position, lag and etcd members; the manual switchover
// (`juki-gw cluster status|switchover`).
import type { Hono } from 'hono';
import { auditAs, refuseUnless, type UiContext, type UiEnv } from '../context.js';

const singleBox = (c: UiContext) =>
  c.json({ code: 'not_found', message: 'this appliance runs as a single box (no cluster section in its configuration)', details: [] }, 404);

export function registerClusterApi(api: Hono<UiEnv>) {
  api.get('/cluster', async (c) => {
    const cluster = c.get('deps').services.cluster;
    return cluster ? c.json(await cluster.status()) : singleBox(c);
  });
  api.post('/cluster/switchover', async (c) => {
    const refused = await refuseUnless(c, 'config.change', 'cluster.switchover');
    if (refused) return refused;
    const cluster = c.get('deps').services.cluster;
    if (!cluster) return singleBox(c);
    const s = await cluster.status();
    if (s.role !== 'leader') {
      await auditAs(c, 'cluster.switchover', 'refused', s.nodeId, `this node is ${s.role}, not the active node`);
      return c.json(
        { code: 'not_active', message: `node ${s.nodeId} is ${s.role}: only the active node can hand over; run this on the other node` },
        409,
      );
    }
    // Audited before: once the leadership is given up this node can write nothing more.
    await auditAs(c, 'cluster.switchover', 'ok', s.nodeId, `handing over at applied position ${s.applied}`);
    // Handed over once this reply has gone out: giving up the leadership ends this process.
    const reply = (c.env as { outgoing?: { once(event: 'close', f: () => void): void } } | undefined)?.outgoing;
    const handOver = () => void cluster.switchover();
    if (reply) reply.once('close', handOver);
    else setImmediate(handOver);
    return c.json({
      ok: true,
      detail: `node ${s.nodeId} gives up the leadership; the other node takes over within about one lease TTL, this one restarts as standby`,
    });
  });
}

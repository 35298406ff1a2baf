// Who is the active node: whoever created the leader key, bound to its lease. A standby waits for the
// key to vanish (lease ended or resigned) and then tries to create it; the create revision of the
// key it created is its fencing token.
import type { Etcd3 } from 'etcd3';
import type { Fence } from './fencing.js';
import type { Session } from './session.js';

export interface LeaderInfo {
  nodeId: string;
  advertise: string;
  token: string;
}

export class Election {
  constructor(
    private readonly client: Etcd3,
    private readonly leaderKey: string,
    private readonly nodeId: string,
    private readonly advertise: string,
  ) {}

  /** Resolves with this node's fence once it leads; rejects when `session` is lost first or `signal` aborts. */
  async campaign(session: Session, signal?: AbortSignal): Promise<Fence> {
    const value = JSON.stringify({ nodeId: this.nodeId, advertise: this.advertise });
    for (;;) {
      if (signal?.aborted) throw new Error('campaign stopped');
      if (!session.alive) throw new Error('campaign ended: lease lost');
      const res = await this.client
        .if(this.leaderKey, 'Create', '==', 0)
        .then(this.client.put(this.leaderKey).value(value).lease(session.leaseId))
        .else(this.client.get(this.leaderKey))
        .commit();
      if (res.succeeded) return { leaderKey: this.leaderKey, token: res.header.revision };
      const held = res.responses[0]?.response_range?.kvs[0];
      if (!held) continue;
      await this.vacated(held.mod_revision, session, signal);
    }
  }

  /** Waits until the leader key seen at `modRevision` is deleted (watching from just after it, so no event is missed). */
  private async vacated(modRevision: string, session: Session, signal?: AbortSignal): Promise<void> {
    const watcher = await this.client
      .watch()
      .key(this.leaderKey)
      .startRevision(String(BigInt(modRevision) + 1n))
      .create();
    try {
      await new Promise<void>((resolve) => {
        watcher.on('delete', () => resolve());
        watcher.on('put', () => resolve()); // replaced meanwhile: look again
        void session.lost.then(() => resolve());
        signal?.addEventListener('abort', () => resolve(), { once: true });
      });
    } finally {
      await watcher.cancel().catch(() => undefined);
    }
  }

  async leader(): Promise<LeaderInfo | undefined> {
    const res = await this.client.get(this.leaderKey).exec();
    const kv = res.kvs[0];
    if (!kv) return undefined;
    const v = JSON.parse(kv.value.toString('utf8')) as { nodeId: string; advertise: string };
    return { nodeId: v.nodeId, advertise: v.advertise, token: kv.create_revision };
  }

  /** Steps down (manual switchover): deletes the leader key only if it is still this node's. */
  async resign(fence: Fence): Promise<boolean> {
    const res = await this.client.if(fence.leaderKey, 'Create', '==', fence.token).then(this.client.delete().key(fence.leaderKey)).commit();
    return res.succeeded;
  }
}

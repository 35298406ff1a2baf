// A node's lease in etcd, kept alive every third of its TTL. The node counts its lease as lost as
// soon as its own clock passes the last confirmed expiry (sent time + TTL), without waiting for etcd
// to say so: a leader that cannot renew stops writing before etcd hands leadership to the other node.
import { EtcdLeaseInvalidError, type Etcd3, type Lease } from 'etcd3';

export class Session {
  readonly lost: Promise<Error>;
  private markLost!: (e: Error) => void;
  private expiresAt: number;
  private timer?: NodeJS.Timeout;
  private deadline?: NodeJS.Timeout;
  private done = false;

  private constructor(
    private readonly lease: Lease,
    readonly leaseId: string,
    readonly ttlSeconds: number,
    grantedAt: number,
  ) {
    this.lost = new Promise((r) => {
      this.markLost = r;
    });
    this.expiresAt = grantedAt + ttlSeconds * 1000;
    this.armDeadline();
    this.timer = setInterval(() => void this.renew(), (ttlSeconds * 1000) / 3);
  }

  static async open(client: Etcd3, ttlSeconds: number): Promise<Session> {
    const sent = Date.now();
    const lease = client.lease(ttlSeconds, { autoKeepAlive: false });
    lease.on('lost', () => {
      /* reported through renew(): etcd3's own 2×TTL judgement is too late */
    });
    const id = await lease.grant();
    return new Session(lease, id, ttlSeconds, sent);
  }

  get alive(): boolean {
    return !this.done && Date.now() < this.expiresAt;
  }

  private armDeadline(): void {
    clearTimeout(this.deadline);
    this.deadline = setTimeout(
      () => this.end(new Error(`lease ${this.leaseId} not renewed within its ${this.ttlSeconds}s TTL`)),
      Math.max(0, this.expiresAt - Date.now()),
    );
  }

  private async renew(): Promise<void> {
    if (this.done) return;
    const sent = Date.now();
    try {
      const res = await this.lease.keepaliveOnce({ deadline: new Date(sent + (this.ttlSeconds * 1000) / 3) });
      if (Number(res.TTL) <= 0) return this.end(new Error(`lease ${this.leaseId} expired in etcd`));
      if (this.done) return;
      this.expiresAt = sent + Number(res.TTL) * 1000;
      this.armDeadline();
    } catch (e) {
      if (e instanceof EtcdLeaseInvalidError) this.end(new Error(`lease ${this.leaseId} expired in etcd`));
      // Otherwise no answer: the local deadline decides.
    }
  }

  private end(e: Error): void {
    if (this.done) return;
    this.done = true;
    clearInterval(this.timer);
    clearTimeout(this.deadline);
    this.lease.release();
    this.markLost(e);
  }

  /** Gives the lease back (its keys vanish at once: the other node can take over without waiting for the TTL). */
  async close(): Promise<void> {
    const wasAlive = !this.done;
    this.end(new Error('session closed'));
    if (wasAlive) await this.lease.revoke().catch(() => undefined);
  }
}

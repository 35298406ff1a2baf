// One appliance node of the cluster: keeps a lease, follows the log as standby, campaigns, and while
// it leads offers the replicated storage port and compacts the log. The composition root builds one
// of these when a `cluster` section is configured and hands `port` to the store; nothing else learns
// that it runs in a cluster.
import type { Etcd3 } from 'etcd3';
import type { Db } from '../platform/store/db.js';
import { Applier } from './applier.js';
import { checkBounds, Compactor, holdLog, publishApplied, type LogAlarm, type LogBounds } from './compaction.js';
import { Election, type LeaderInfo } from './election.js';
import { AppendOutcomeUnknownError, isEtcdUnavailable } from './errors.js';
import type { Fence } from './fencing.js';
import { clusterKeys, type ClusterKeys } from './keys.js';
import { LogSize } from './logSize.js';
import { ReplicatedLog } from './replicatedLog.js';
import { ReplicatedPort } from './replicatedPort.js';
import { Session } from './session.js';

export type Role = 'starting' | 'standby' | 'leader' | 'stopped' | 'failed';

export interface ClusterNodeOptions {
  client: Etcd3;
  /** This node's own appliance LevelDB: the applier writes the log into it. */
  db: Db;
  nodeId: string;
  advertise: string;
  prefix: string;
  leaseTtlSeconds: number;
  bounds: LogBounds;
  onAlarm?: (alarm: LogAlarm) => void;
  /** How often the active node compacts the log and checks its bounds (default 1 s). */
  compactEveryMs?: number;
  /** How long a node that vanished still holds the log back with its last applied position (default 60 s). */
  compactGraceMs?: number;
  /**
   * Fail-stop (the appliance): once this node has led and lost the leadership it stops (role
   * 'stopped') instead of campaigning again. What was started for that leadership (flows, outbox)
   * is still shutting down and must not write under a later one: it would commit its failed
   * requests' refusals, built on a state another node may have changed meanwhile.
   */
  failStop?: boolean;
}

export class ClusterNode {
  readonly port = new ReplicatedPort();
  readonly keys: ClusterKeys;
  private readonly election: Election;
  private readonly abort = new AbortController();
  private listeners: ((role: Role, why: string) => void)[] = [];
  private current: Role = 'starting';
  private session?: Session;
  private size?: LogSize;
  private applier?: Applier;
  private running?: Promise<void>;
  private resignedAt?: number;
  private led = false;
  /** Why the node stopped working (role 'failed'). */
  failure?: Error;

  constructor(private readonly o: ClusterNodeOptions) {
    this.keys = clusterKeys(o.prefix);
    this.election = new Election(o.client, this.keys.leader, o.nodeId, o.advertise);
  }

  get nodeId(): string {
    return this.o.nodeId;
  }
  get role(): Role {
    return this.current;
  }
  get applied(): number {
    return this.applier?.applied ?? 0;
  }
  /** Log size as the active node counts it; undefined on a standby. */
  get logSize(): { entries: number; bytes: number } | undefined {
    return this.current === 'leader' && this.size ? { entries: this.size.entries, bytes: this.size.bytes } : undefined;
  }

  onRoleChange(listener: (role: Role, why: string) => void): void {
    this.listeners.push(listener);
  }

  leader(): Promise<LeaderInfo | undefined> {
    return this.election.leader();
  }

  async start(): Promise<void> {
    this.applier = await Applier.open(this.o.db, this.o.client, this.keys);
    this.applier.onApplied(() => this.publish());
    this.applier.onFollowError((e) => void this.fail(e));
    this.running = this.run().catch((e: Error) => this.fail(e));
  }

  /** A standby that cannot apply the log stops: it neither campaigns nor pretends to be current. */
  private async fail(e: Error): Promise<void> {
    if (this.failure) return;
    this.failure = e;
    this.abort.abort();
    this.port.standDown(`node failed: ${e.message}`);
    this.setRole('failed', e.message);
    await this.applier?.unfollow();
    await this.session?.close();
  }

  /**
   * Before a copy of this node's store is taken (a backup to start a lagging or new node from): keeps
   * the log after the position applied now — at or below the copy's — for `ttlSeconds`.
   */
  async holdLogForCopy(ttlSeconds: number): Promise<number> {
    const position = this.applied;
    await holdLog(this.o.client, this.keys, `copy-${this.o.nodeId}-${Date.now()}`, position, ttlSeconds);
    return position;
  }

  /** Manual switchover: gives up the leadership (the other node takes over); this node campaigns again. */
  async resign(): Promise<boolean> {
    const session = this.session;
    if (this.current !== 'leader' || !session) return false;
    this.resignedAt = Date.now();
    this.port.standDown('resigned');
    await session.close();
    return true;
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.port.standDown('node stopped');
    await this.session?.close();
    await this.running;
    await this.applier?.unfollow();
    this.setRole('stopped', 'stopped');
  }

  private setRole(role: Role, why: string): void {
    if (this.current === role || this.current === 'stopped') return;
    if (role === 'leader') this.led = true;
    this.current = role;
    for (const l of this.listeners) l(role, why);
  }

  private publishing = false;
  private publish(): void {
    const session = this.session;
    if (this.publishing || !session?.alive || !this.applier) return;
    this.publishing = true;
    const position = this.applier.applied;
    void publishApplied(this.o.client, this.keys, this.o.nodeId, session.leaseId, position)
      .catch(() => undefined)
      .finally(() => {
        this.publishing = false;
        if (this.applier && this.applier.applied !== position) this.publish();
      });
  }

  private async run(): Promise<void> {
    const applier = this.applier!;
    while (!this.abort.signal.aborted) {
      let session: Session;
      try {
        session = await Session.open(this.o.client, this.o.leaseTtlSeconds);
      } catch {
        await this.pause(500); // etcd unreachable or without quorum: try again
        continue;
      }
      this.session = session;
      try {
        this.publish();
        await applier.follow();
        this.setRole('standby', 'following the log');
        await this.holdOffAfterResign();
        const fence = await this.election.campaign(session, this.abort.signal);
        await applier.unfollow();
        const why = await this.lead(session, fence);
        this.port.standDown(why);
        this.stepDown(why);
      } catch (e) {
        if (!isEtcdUnavailable(e) && !this.abort.signal.aborted && session.alive) throw e; // e.g. a gap in the log, a LevelDB error
        this.port.standDown(`lost etcd: ${(e as Error).message}`);
        this.stepDown((e as Error).message);
        await this.pause(500);
      } finally {
        await session.close();
      }
    }
  }

  /** After a leadership (or an attempt at one) ended: standby again, or stopped for good when fail-stop and it led. */
  private stepDown(why: string): void {
    if (this.abort.signal.aborted) return;
    if (this.o.failStop && this.led) {
      this.abort.abort();
      this.setRole('stopped', `fail-stop after leading: ${why}`);
    } else this.setRole('standby', why);
  }

  private pause(ms: number): Promise<void> {
    return new Promise((r) => {
      const t = setTimeout(r, ms);
      this.abort.signal.addEventListener(
        'abort',
        () => {
          clearTimeout(t);
          r();
        },
        { once: true },
      );
    });
  }

  /** After a resign the other node gets one lease TTL to take over before this node campaigns again. */
  private async holdOffAfterResign(): Promise<void> {
    const at = this.resignedAt;
    this.resignedAt = undefined;
    if (at === undefined) return;
    const wait = at + this.o.leaseTtlSeconds * 1000 - Date.now();
    if (wait > 0) await this.pause(wait);
  }

  /** Leads until the lease is lost or the node is fenced out; returns why it stopped. */
  private async lead(session: Session, fence: Fence): Promise<string> {
    const { client } = this.o;
    const applier = this.applier!;
    let timer: NodeJS.Timeout | undefined;
    try {
      for (;;) {
        // Take over exactly where the log ends: everything the previous leader appended is applied first.
        const head = await ReplicatedLog.head(client, this.keys);
        await applier.catchUp(head);
        if (applier.read < head) throw new Error(`log read up to ${applier.read}, head says ${head}`);
        applier.dropIncompleteCommit();
        const size = await LogSize.scan(client, this.keys);
        this.size = size;
        const log = new ReplicatedLog(client, this.keys, fence, head + 1, async (group) => {
          await applier.offer(group);
          for (const e of group) size.add(e.position, e.bytes.length);
        });
        if (!session.alive || this.abort.signal.aborted) return 'lease lost before taking over';
        this.port.lead(log);
        this.setRole('leader', `won with fencing token ${fence.token}`);
        clearInterval(timer);
        const grace = this.o.compactGraceMs ?? 60_000;
        const compactor = new Compactor(client, this.keys, fence, grace, size, Date.now() + grace);
        timer = setInterval(() => void this.housekeeping(compactor, size), this.o.compactEveryMs ?? 1000);
        const ended = await Promise.race([
          session.lost.then((e) => ({ stop: true, why: e.message })),
          log.ended.then((e) => ({ stop: !(e instanceof AppendOutcomeUnknownError), why: e.message })),
          new Promise<{ stop: boolean; why: string }>((r) =>
            this.abort.signal.addEventListener('abort', () => r({ stop: true, why: 'node stopped' }), { once: true }),
          ),
        ]);
        this.port.standDown(ended.why);
        // An append with an unknown outcome: resynchronise from etcd (the entry is either there or not) and go on leading.
        if (ended.stop || !session.alive) return ended.why;
      }
    } finally {
      clearInterval(timer);
      this.size = undefined;
    }
  }

  private async housekeeping(compactor: Compactor, size: LogSize): Promise<void> {
    try {
      await compactor.compact(this.applier!.applied);
    } catch {
      /* next round */
    }
    const alarm = checkBounds(size, this.o.bounds);
    if (alarm) this.o.onAlarm?.(alarm);
  }
}

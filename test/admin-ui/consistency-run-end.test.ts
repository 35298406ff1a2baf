// How a consistency check run from the Consistency page ends: done, failed (the peer refused), or
// interrupted (the process stopped while it ran). Each end is a terminal state with its reason and an
// audit entry; a run left over by an earlier process never blocks a new one.
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { consistencyFromChecker } from '../../admin-ui/adapters/consistency.js';
import type { AuditEvent, ConsistencyProgress, ConsistencyService } from '../../admin-ui/services.js';
import { StoreConsistencyPeer } from '../../gateway/cs/consistency/peer.js';
import type { ConsistencyTransport } from '../../gateway/cs/consistency/protocol.js';
import { ConsistencyChecker } from '../../gateway/cs/consistency/session.js';
import { IdentityStore } from '../../gateway/cs/identityStore.js';
import { openApplianceDb, type Db } from '../../platform/store/db.js';
import { generateResidents } from '../../sim/residents.js';
import { tempDir } from '../helpers/tmp.js';

const ADMIN = { user: 'admin1', role: 'admin' as const, via: 'ui' as const };

describe('the end of a consistency check run', () => {
  const tmp = tempDir('jukigw-csend-');
  const open: Db[] = [];
  afterEach(async () => {
    for (const d of open.splice(0)) await d.close();
  });
  afterAll(() => tmp.cleanup());

  /** One appliance process: its store, checker and the page's service, over the data dir. */
  async function process(name: string, transport: (store: IdentityStore) => ConsistencyTransport) {
    const db = await openApplianceDb(join(tmp.path, name));
    open.push(db);
    const store = await IdentityStore.open(db, { indexKey: Buffer.alloc(32, 7) });
    if (store.lastSeq() === 0) {
      const b = db.batch();
      for (const r of generateResidents('tsu', { seed: 'end', count: 40 })) await store.apply(b, r, { mode: 'load', fresh: true });
      await b.write();
    }
    const audit: AuditEvent[] = [];
    const checker = new ConsistencyChecker(db, store);
    const cs = consistencyFromChecker({
      checker,
      lgCode: () => '242012',
      peer: 'pref:240001',
      bits: 3,
      transport: transport(store),
      audit: async (e) => {
        audit.push(e);
      },
    });
    return { db, cs, audit, checker };
  }

  async function ended(cs: ConsistencyService, runId: string): Promise<ConsistencyProgress> {
    for (;;) {
      const p = await cs.progress(runId);
      if (p && p.state !== 'running') return p;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** The audit entry is appended right after the end is committed. */
  async function audited(audit: AuditEvent[], n: number): Promise<void> {
    while (audit.length < n) await new Promise((r) => setTimeout(r, 20));
  }

  it('a run the peer refuses ends failed with the reason, audited', async () => {
    const { cs, audit } = await process('failed', () => async () => {
      throw new Error('pref:240001 answered snapshot with invalid_request: pref:240001 does not handle consistency.check');
    });
    const { runId } = await cs.start(ADMIN);
    const p = await ended(cs, runId);
    expect(p.state).toBe('failed');
    expect(p.detail).toContain('does not handle consistency.check');
    await audited(audit, 1);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ action: 'consistency.check', actor: 'admin1', outcome: 'failed', target: runId });
    expect(audit[0]!.detail).toContain('does not handle consistency.check');
  });

  it('a run left running by an earlier process is interrupted, audited once, and a new run finishes', async () => {
    const first = await process('restart', () => () => new Promise(() => {})); // the peer never answers: the process stops first
    const { runId: left } = await first.cs.start(ADMIN);
    expect((await first.cs.progress(left))?.state).toBe('running');
    await first.db.close();
    open.splice(open.indexOf(first.db), 1);

    const second = await process('restart', (store) => new StoreConsistencyPeer(store).transport);
    const p = await second.cs.progress();
    expect(p).toMatchObject({ runId: left, state: 'interrupted' });
    expect(p!.detail).toContain('stopped while the check ran');
    expect((await second.cs.progress(left))?.state).toBe('interrupted');
    expect(second.audit).toEqual([expect.objectContaining({ action: 'consistency.check', outcome: 'failed', target: left })]);
    expect(second.audit[0]!.detail).toContain('interrupted');

    const { runId } = await second.cs.start(ADMIN);
    expect(runId).not.toBe(left);
    const done = await ended(second.cs, runId);
    expect(done.state).toBe('done');
    await audited(second.audit, 2);
    expect(second.audit).toHaveLength(2);
    expect(second.audit[1]).toMatchObject({ action: 'consistency.check', actor: 'admin1', outcome: 'ok', target: runId });
    expect((await second.cs.progress(left))?.state).toBe('interrupted');
  });

  it('a run this process drives is running, whoever started it', async () => {
    const { cs, audit, checker } = await process('own', () => () => new Promise(() => {}));
    // Started outside the page (as the CS flow does); it waits on the peer from its first exchange on.
    let asked: () => void = () => {};
    const waiting = new Promise<void>((r) => {
      asked = r;
    });
    void checker.start({
      id: 'own-run',
      lgCode: '242012',
      peer: 'pref:240001',
      transport: () => {
        asked();
        return new Promise(() => {});
      },
    });
    await waiting;
    expect((await cs.progress('own-run'))?.state).toBe('running');
    expect((await cs.progress())?.runId).toBe('own-run');
    expect(await checker.interrupt('own-run', 'test')).toBeUndefined();
    expect(audit).toEqual([]);
  });
});

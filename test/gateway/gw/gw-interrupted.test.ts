// 情報提供等記録 across a crash: an information query in flight when the appliance died has its query
// record; the next start records its outcome (upstream_unavailable, what the restart answers the caller)
// once, before the CS role's recovery clears the pending entry.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../../config/schema/index.js';
import { createKeyHasher } from '../../../gateway/crypto/index.js';
import { upstreamEnvelope } from '../../../gateway/cs/flows/shared.js';
import { startGwRole } from '../../../gateway/gw/role.js';
import { createInteractive } from '../../../gateway/local/interactive.js';
import { createLocalOutbox } from '../../../gateway/local/localOutbox.js';
import { createLogger } from '../../../platform/log/logger.js';
import { openProvisionRecords } from '../../../gateway/provision/index.js';
import { openApplianceDb, SUBLEVELS, type Db } from '../../../platform/store/db.js';
import { UnitOfWork } from '../../../platform/store/unitOfWork.js';
import { tempDir } from '../../helpers/tmp.js';

describe('情報提供等記録: an information query interrupted by a crash', () => {
  const dir = tempDir('jukigw-gw-interrupted-');
  const logger = createLogger({ level: 'silent' });
  let db: Db;
  beforeAll(async () => {
    db = await openApplianceDb(join(dir.path, 'db'));
  });
  afterAll(async () => {
    await db.close();
    dir.cleanup();
  });

  const start = () =>
    startGwRole({
      config: configSchema.parse({ municipalities: ['242012'], dataDir: dir.path }),
      db,
      logger,
      audit: { log: undefined as never, hashKey: createKeyHasher(randomBytes(32)) },
    });

  it('gets its answer record at the next start, once', async () => {
    const provision = openProvisionRecords(db, { retentionYears: 7 });
    const localOutbox = await createLocalOutbox({ db, publish: async () => undefined, logger });
    // The upstream never answers: the process "dies" with the query in flight (pending entry written).
    const interactive = createInteractive({
      db,
      requester: { request: () => new Promise(() => undefined) },
      localOutbox,
      audit: () => undefined,
      logger,
      selfAddress: () => 'lg:242012',
    });
    const body = { lgCode: '242012', addresseeNo: 'A-9', infoType: 'TAX-01', targetOrg: 'ORG-131016', procedure: 'P-100' };
    const envelope = {
      v: 1 as const,
      id: 'q-interrupted-1',
      type: 'info.query',
      from: 'nl-01',
      to: 'lg:242012',
      at: new Date().toISOString(),
      corr: null,
      body,
    };
    const base = {
      requestId: envelope.id,
      systemId: 'nl-01',
      type: 'info.query',
      infoType: 'TAX-01',
      procedure: 'P-100',
      targetOrg: 'ORG-131016',
      lgCode: '242012',
      addresseeKey: 'addressee:x',
    };
    // Other requests in flight are left alone: an interrupted serial.request has no provision record.
    await interactive.forward(
      {
        seq: 1,
        systemId: 'nl-01',
        role: 'number-linkage',
        envelope: { ...envelope, id: 'sr-1', type: 'serial.request' },
        receivedAt: Date.now(),
      },
      { begin: () => new UnitOfWork(db), reply: () => undefined, fail: () => undefined },
      upstreamEnvelope('lg:242012', 'ims:242012', 'serial.request', {}),
    );
    await interactive.forward(
      { seq: 2, systemId: 'nl-01', role: 'number-linkage', envelope, receivedAt: Date.now() },
      {
        begin: () => {
          const uow = new UnitOfWork(db);
          provision.add(uow.batch, { ...base, kind: 'query', result: 'sent' });
          return uow;
        },
        reply: () => undefined,
        fail: () => undefined,
      },
      upstreamEnvelope('lg:242012', 'ims:242012', 'info.query', body),
    );
    let pending = 0;
    for await (const _ of db.sublevel(SUBLEVELS.pending).keys()) pending++;
    expect(pending).toBe(2);
    expect((await provision.list()).map((r) => `${r.kind}:${r.result}`)).toEqual(['query:sent']);

    const first = await start();
    await first.close();
    const recs = await provision.list();
    expect(recs.map((r) => `${r.kind}:${r.result}`)).toEqual(['query:sent', 'answer:upstream_unavailable']);
    expect(recs[1]).toMatchObject({ ...base, kind: 'answer' });
    // A second start before the CS answered the caller (pending entry still there) adds nothing.
    const second = await start();
    await second.close();
    expect(await provision.count()).toBe(2);
    await localOutbox.close();
  });
});

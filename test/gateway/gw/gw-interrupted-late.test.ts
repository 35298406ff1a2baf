// An interrupted query's answer record, written by a start long after the query (the appliance was
// down in between) that then stopped before the CS answered the caller, is found at the next start:
// the query still has one answer.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INTERRUPTED_RESULT, recordInterruptedQueries } from '../../../gateway/gw/interrupted.js';
import { openProvisionRecords } from '../../../gateway/provision/index.js';
import { openApplianceDb, SUBLEVELS, type Db } from '../../../platform/store/db.js';
import { tempDir } from '../../helpers/tmp.js';

describe('情報提供等記録: interrupted query recorded long after it was sent', () => {
  const dir = tempDir('jukigw-gw-interrupted-late-');
  let db: Db;
  beforeAll(async () => {
    db = await openApplianceDb(join(dir.path, 'db'));
  });
  afterAll(async () => {
    await db.close();
    dir.cleanup();
  });

  it('adds no second answer when the first one is more than a minute after the query', async () => {
    const provision = openProvisionRecords(db, { retentionYears: 7 });
    const since = Date.now() - 3600_000;
    const base = {
      requestId: 'q-late-1',
      systemId: 'nl-01',
      type: 'info.query',
      infoType: 'TAX-01',
      procedure: 'P-100',
      targetOrg: 'ORG-131016',
      lgCode: '242012',
      addresseeKey: 'addressee:x',
    };
    const b = db.batch();
    provision.add(b, { ...base, kind: 'query', result: 'sent', at: new Date(since).toISOString() });
    // What the earlier start wrote, an hour after the query.
    provision.add(b, { ...base, kind: 'answer', result: INTERRUPTED_RESULT, at: new Date(since + 3600_000 - 1000).toISOString() });
    b.put(
      'nl-01!q-late-1',
      { systemId: 'nl-01', requestId: 'q-late-1', type: 'info.query', since },
      { sublevel: db.sublevel<string, unknown>(SUBLEVELS.pending, { valueEncoding: 'json' }) as never },
    );
    await b.write();
    expect(await recordInterruptedQueries(db, provision)).toBe(0);
    expect((await provision.list()).map((r) => `${r.kind}:${r.result}`)).toEqual(['query:sent', `answer:${INTERRUPTED_RESULT}`]);
  });
});

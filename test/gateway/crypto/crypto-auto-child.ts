// Child process for crypto.test.ts: SOFTHSM2_CONF is read once per process, so the data-dir SoftHSM
// (hsm.kind auto) is exercised in a fresh one. argv: dataDir, value to store (or "read").
import { join } from 'node:path';
import { hsmSection } from '../../../config/schema/hsm.js';
import { openEncryptionAtRest } from '../../../gateway/crypto/index.js';
import { openApplianceDb } from '../../../platform/store/db.js';

const [dataDir, value] = process.argv.slice(2) as [string, string];
const db = await openApplianceDb(join(dataDir, 'db'));
const at = await openEncryptionAtRest({ hsm: hsmSection.parse({ kind: 'auto' }), dataDir, db });
const s = db.sublevel<string, unknown>('identity', { valueEncoding: at.keyring.valueEncoding('json') });
const key = at.hashKey('rc', '98765432109');
if (value !== 'read') await s.put(key, { 氏名: value });
process.stdout.write(JSON.stringify({ kek: at.keyring.kek.kind, id: at.keyring.kek.id, value: await s.get(key) }) + '\n');
await at.close();
await db.close();

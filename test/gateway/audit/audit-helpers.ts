// Shared set-up for the audit tests: a software-token Signer with a self-signed certificate.
import { join } from 'node:path';
import { generateSoftwareKey } from '../../../hsm/software-token.js';
import { selfSignedCertificate, signerFromToken, softwareTokenFromKey, type TokenSigner } from '../../../hsm/index.js';
import { openApplianceDb, type Db } from '../../../platform/store/db.js';
import { createAuditLog, type AuditEventInput, type AuditLog, type AuditLogOptions } from '../../../gateway/audit/index.js';
import { createKeyHasher } from '../../../gateway/crypto/blindIndex.js';
import { tempDir } from '../../helpers/tmp.js';

export async function testSigner(subject = 'CN=juki-gw audit test'): Promise<TokenSigner> {
  const token = softwareTokenFromKey(generateSoftwareKey('ES256'), 'ES256');
  return signerFromToken(token, await selfSignedCertificate(token, subject));
}

export const hashKey = createKeyHasher(Buffer.alloc(32, 9));

export function lookup(i: number, over: Partial<AuditEventInput> = {}): AuditEventInput {
  return {
    actor: { kind: 'operator', id: `op-${i % 3}` },
    terminalId: `term-${i % 2}`,
    dutyCode: 'J01',
    action: 'identity.search',
    outcome: 'ok',
    keys: [hashKey('rc', `1234567890${i % 10}`)],
    hitCount: i % 4,
    detail: { messageId: `m-${i}` },
    ...over,
  };
}

export interface Fixture {
  dir: { path: string; cleanup: () => void };
  dbPath: string;
  db: Db;
  signer: TokenSigner;
  log: AuditLog;
  close(): Promise<void>;
}

export async function openFixture(opts: Partial<AuditLogOptions> = {}): Promise<Fixture> {
  const dir = tempDir('jukigw-audit-');
  const dbPath = join(dir.path, 'db');
  const db = await openApplianceDb(dbPath);
  const signer = (opts.signer as TokenSigner | undefined) ?? (await testSigner());
  const log = await createAuditLog({ db, signer, checkpointEvery: 1_000_000, checkpointSeconds: 3600, ...opts });
  return {
    dir,
    dbPath,
    db,
    signer,
    log,
    async close() {
      await log.close();
      if (db.status === 'open') await db.close();
      dir.cleanup();
    },
  };
}

/** Polls until `check` passes (background appends and checkpoints settle on their own schedule). */
export async function eventually(check: () => Promise<boolean> | boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

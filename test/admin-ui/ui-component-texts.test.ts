// What a new Japanese administrator saw in English or said twice: the token's warning, the Jobs
// page's outcomes and progress, the audit log's details, actors and addresses of broker refusals,
// the link state, and an empty queue — each in the reader's language, from the real components.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminApp, SESSION_COOKIE } from '../../admin-ui/app.js';
import { openAuthStore } from '../../admin-ui/auth/store.js';
import { onlineOperations } from '../../admin-ui/adapters/operations.js';
import { auditFromLog } from '../../admin-ui/adapters/audit.js';
import { STYLESHEET } from '../../admin-ui/static.js';
import { configCommentText, systemDescriptionText, tokenDetailText, tokenWarningText } from '../../admin-ui/i18n/components.js';
import { ja } from '../../admin-ui/i18n/ja.js';
import { en } from '../../admin-ui/i18n/en.js';
import { openConfigVersions } from '../../config/versions.js';
import { embeddedDefault } from '../../config/default.js';
import type { ApplianceServices } from '../../admin-ui/services.js';
import { createLogger } from '../../platform/log/logger.js';
import { openApplianceDb, type Db } from '../../platform/store/db.js';
import { createAuditLog } from '../../gateway/audit/index.js';
import { LoginThrottle } from '../../broker/login-throttle.js';
import { createSigner } from '../../hsm/create-signer.js';
import { SOFTHSM_WARNING } from '../../hsm/index.js';
import { hsmSection } from '../../config/schema/hsm.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../helpers/until.js';

const dir = tempDir('ui-texts-');
let db: Db;
let app: ReturnType<typeof createAdminApp>;
let adminToken = '';
const LIMITS = { allowed: 3, backoffMs: 100, maxBackoffMs: 400, forgetAfterMs: 1000 };
const since = '2026-12-06T01:13:30.000Z';

async function session(user: string, password: string): Promise<string> {
  const g = await app.request('https://ui.test/login');
  const loginCookie = g.headers.getSetCookie()[0]!.split(';')[0]!;
  const token = /name="_csrf" value="([^"]+)"/.exec(await g.text())![1]!;
  const r = await app.request('https://ui.test/login', {
    method: 'POST',
    headers: { cookie: loginCookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _csrf: token, username: user, password }),
  });
  return r.headers
    .getSetCookie()
    .find((c) => c.startsWith(SESSION_COOKIE))!
    .split(';')[0]!;
}
const page = async (path: string, cookie: string) => (await app.request(`https://ui.test${path}`, { headers: { cookie } })).text();
const row = (html: string, attr: string) => new RegExp(`<tr ${attr}[^>]*>.*?</tr>`).exec(html)?.[0] ?? '';

beforeAll(async () => {
  db = await openApplianceDb(join(dir.path, 'db'));
  const signer = await createSigner(hsmSection.parse({ kind: 'software' }), { dataDir: dir.path });
  const auditLog = await createAuditLog({ db, signer, checkpointEvery: 20 });
  const audit = auditFromLog(auditLog);
  // Broker refusals as the appliance records them (appliance/components/auditTrail.ts): an unknown client
  // id names no system; the failed-login summary is the broker's own line.
  const throttle = new LoginThrottle(() => LIMITS);
  throttle.failed(['system term-01'], 0);
  const burst = throttle.succeeded('system term-01')[0]!.detail;
  expect(burst).toBe(
    'system term-01: burst of failed logins over (successful login): 1 attempts, 1 passwords checked and wrong, 0 refused unchecked',
  );
  for (const [id, systemId, reason, detail] of [
    ['my-app', null, 'client-id', 'client ID must equal the system ID term-01'],
    ['term-01', 'term-01', 'auth', 'bad username or password'],
    ['term-01', 'term-01', 'auth-throttled', burst],
    ['term-01', 'term-01', 'acl-subscribe', 'only the appliance subscribes to req/'],
  ] as const) {
    await auditLog.append({
      actor: { kind: 'system', id },
      action: 'broker.denial',
      outcome: 'refused',
      code: reason,
      detail: { detail, listener: 'local-dev', remote: '127.0.0.1', topic: null, systemId },
    });
  }
  const versions = await openConfigVersions({ db, initialText: "municipalities: ['242012']\n" });
  const services: ApplianceServices = {
    config: versions,
    systems: { list: async () => [] } as never,
    audit,
    status: {
      tokenStatus: async () => signer.status(),
      links: async () => [
        { name: 'simulated', url: 'mqtt://sim', connected: true, detail: 'connected', state: 'up', since, queueDepth: 0 },
      ],
    },
    queues: { list: async () => [{ name: 'simulated', depth: 0, oldestAgeMs: null, deadLetters: 0 }], show: async () => [] } as never,
    operations: onlineOperations({ db, dataDir: dir.path, signer, identityStore: () => undefined, audit: (e) => audit.append(e) }),
  };
  const auth = await openAuthStore({ db, idleMinutes: 15 });
  app = createAdminApp({ services, auth, logger: createLogger({ level: 'silent' }), idleMinutes: 15 });
  for (const [name, lang] of [
    ['kanri', 'ja'],
    ['admin-en', 'en'],
  ] as const) {
    expect(await auth.createAccount(name, 'admin', 'first pass 2026 x', lang)).toBeUndefined();
    expect(await auth.changePassword(name, 'first pass 2026 x', 'second pass 2026 y')).toBeUndefined();
  }
  adminToken = (await auth.createApiToken('kanri', 'texts test')).token;
  // A refused password change as the UI records it.
  await audit.append({
    action: 'password.change',
    actor: 'kanri',
    role: 'admin',
    via: 'ui',
    outcome: 'refused',
    target: 'kanri',
    detail: 'new password: at least 12 characters',
    address: '127.0.0.1',
  });
}, 60_000);
afterAll(async () => {
  await db?.close();
  dir.cleanup();
});

describe("texts of other components in the reader's language", () => {
  it("the signing token's warning, by its code, on the dashboard (alarm and card) and the HSM page", async () => {
    const ja1 = await session('kanri', 'second pass 2026 y');
    const en1 = await session('admin-en', 'second pass 2026 y');
    for (const [cookie, t] of [
      [ja1, ja],
      [en1, en],
    ] as const) {
      const dash = await page('/', cookie);
      expect(dash).toContain(`[${t['alarm.source.token']}] ${t['token.warning.software-key']}</li>`);
      expect(dash).toContain(`data-warning="software-key"> (${t['token.warning.software-key']})</span>`);
      expect(await page('/keys', cookie)).toContain(
        `<span class="warn" data-warning="software-key">${t['token.warning.software-key']}</span>`,
      );
    }
    expect(await page('/', ja1)).not.toContain('not for production');
    // The SoftHSM token's warning as hsm/pkcs11-config.ts gives it, and a text from a component without the code.
    expect(tokenWarningText(ja, { warning: SOFTHSM_WARNING, warningCode: 'softhsm-datadir' })).toBe(
      'データディレクトリ内の SoftHSM トークン (ソフトウェア実装) — 本番運用には使用できません',
    );
    expect(tokenWarningText(ja, { warning: SOFTHSM_WARNING })).toBe(ja['token.warning.softhsm-datadir']);
    expect(tokenWarningText(ja, { warning: 'a warning nobody mapped' })).toBe('a warning nobody mapped');
  });

  it('the link state once: connected since when', async () => {
    const jaLink = row(await page('/', await session('kanri', 'second pass 2026 y')), 'data-link="simulated"');
    expect(jaLink).toContain('<span data-state="up">接続中（2026-12-06 10:13:30 JST (+09:00) から）</span>');
    expect(jaLink.match(/接続中/g)).toHaveLength(1);
    const enLink = row(await page('/', await session('admin-en', 'second pass 2026 y')), 'data-link="simulated"');
    expect(enLink).toContain('<span data-state="up">connected since 2026-12-06 10:13:30 JST (+09:00)</span>');
    expect(enLink.match(/connected/g)).toHaveLength(1);
  });

  it('a backup and an audit verification: outcomes from the structured result, progress named for what it counts', async () => {
    const api = (path: string, body: unknown) =>
      app.request(`https://ui.test/api/v1${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const backup = ((await (await api('/backup', { passphrase: 'backup passphrase 2026' })).json()) as { job: { id: string } }).job.id;
    const verify = ((await (await api('/audit/verify', {})).json()) as { job: { id: string } }).job.id;
    const jobs = await until(
      async () => {
        const r = (await (
          await app.request('https://ui.test/api/v1/jobs', { headers: { authorization: `Bearer ${adminToken}` } })
        ).json()) as { id: string; state: string; summary: string; result: Record<string, number>; done: number }[];
        return r.every((j) => j.state !== 'running') && r.length === 2 ? r : undefined;
      },
      60_000,
      'both jobs to finish',
    );
    const b = jobs.find((j) => j.id === backup)!;
    // The API keeps the English line.
    expect(b.summary).toMatch(/^\d+ parts, \d+ bytes, signed by kid \S+, encrypted \(AES-256-GCM, passphrase\)/);
    const jaJobs = await page('/jobs', await session('kanri', 'second pass 2026 y'));
    const jaBackup = row(jaJobs, `data-job="${backup}"`);
    expect(jaBackup).toContain(`<td class="nowrap">バックアップ</td>`);
    expect(jaBackup).toContain(`データベース読み込み ${b.done} / ${b.done} バイト`);
    expect(jaBackup).toContain(
      `構成要素 ${b.result.parts} 件 (データ ${b.result.bytes} バイト)、バックアップファイル ${b.result.fileBytes} バイト、署名鍵 kid `,
    );
    expect(jaBackup).toContain('暗号化済み (AES-256-GCM、パスフレーズ)');
    expect(jaBackup).not.toMatch(/parts|bytes|signed by|encrypted/);
    expect(row(jaJobs, `data-job="${verify}"`)).toMatch(/\d+ 件、チェックポイント \d+ 件、チェーンは正常 \(署名者の固定なし\)/);
    const enJobs = await page('/jobs', await session('admin-en', 'second pass 2026 y'));
    expect(row(enJobs, `data-job="${backup}"`)).toContain(`database read: ${b.done} / ${b.done} bytes`);
    expect(row(enJobs, `data-job="${backup}"`)).toContain(`backup file ${b.result.fileBytes} bytes`);
    // The audit log's job line, in the reader's language while the job is known.
    const audit = await page('/audit', await session('kanri', 'second pass 2026 y'));
    expect(audit).toContain(`ジョブ ${backup}: 構成要素 ${b.result.parts} 件`);
    expect(audit).toContain('<td class="any">バックアップを開始</td>');
  }, 90_000);

  it("the audit log: broker refusals with their address, an unknown client as such, details in the reader's language", async () => {
    const jaAudit = await page('/audit', await session('kanri', 'second pass 2026 y'));
    const rows = jaAudit.match(/<tr data-outcome="refused">.*?<\/tr>/g) ?? [];
    const client = rows.find((r) => r.includes('my-app'))!;
    expect(client).toContain('<span class="muted" data-actor-kind="client"> (未登録のクライアント)</span>');
    expect(client).toContain('<td class="any">クライアント ID はシステム ID term-01 と同じでなければなりません</td><td>127.0.0.1</td>');
    expect(rows.find((r) => r.includes('burst'))).toBeUndefined();
    expect(jaAudit).toContain(
      '<td class="any">システム term-01: ログイン失敗の連続が終了 (ログイン成功): 1回、パスワード照合で不一致 1回、照合せず拒否 0回</td><td>127.0.0.1</td>',
    );
    expect(jaAudit).toContain('<td class="any">ユーザー名またはパスワードが正しくありません</td><td>127.0.0.1</td>');
    expect(jaAudit).toContain('<td class="any">req/ を購読できるのは装置だけです</td>');
    expect(jaAudit).toContain('term-01<span class="muted" data-actor-kind="system"> (システム)</span>');
    expect(jaAudit).toContain('<td class="any">12 文字以上にしてください</td><td>127.0.0.1</td>');
    // The chain verification's own line.
    const verified = await page('/audit?verify=1', await session('kanri', 'second pass 2026 y'));
    expect(verified).toMatch(
      />チェーンは正常です: \d+ 件、署名済みチェックポイント 0 件、最後のチェックポイント以降 \d+ 件 \(\d+ 件を検査\)</,
    );
    const enAudit = await page('/audit', await session('admin-en', 'second pass 2026 y'));
    expect(enAudit).toContain(': 1 attempt, 1 password checked and wrong, 0 refused unchecked</td>');
    expect(enAudit).toContain('(unknown client)');
  });

  it("the appliance's own comment and example description translated, an operator's as written", async () => {
    const versions = await openConfigVersions({ db, initialText: "municipalities: ['242012']\n" });
    const first = (await versions.versions()).at(-1)!;
    expect(configCommentText(ja, first.comment)).toBe('初回起動時の設定');
    expect(configCommentText(ja, '一括転送のため上限を拡大')).toBe('一括転送のため上限を拡大');
    const example = (embeddedDefault().systems ?? []).find((x) => x.id === 'mon-01')!;
    expect(systemDescriptionText(ja, example.description!)).toBe('監視 (例)');
    expect(systemDescriptionText(ja, 'monitoring')).toBe('monitoring');
  });

  it("the token's state line in the reader's language, from its parts", () => {
    const time = (iso: string) => `<${iso}>`;
    const lost = {
      detail: 'x',
      facts: { state: 'lost', place: { label: 'juki-gw' }, since: '2026-01-01T00:00:00.000Z', reason: 'CKR_DEVICE_REMOVED' },
    } as const;
    expect(tokenDetailText(ja, time, lost)).toBe(
      'PKCS#11 トークン "juki-gw" は <2026-01-01T00:00:00.000Z> から使用できません (CKR_DEVICE_REMOVED)。間隔を空けて再ログインします',
    );
    expect(tokenDetailText(en, time, lost)).toBe(
      'PKCS#11 token "juki-gw" lost since <2026-01-01T00:00:00.000Z> (CKR_DEVICE_REMOVED); re-login with backoff',
    );
    expect(tokenDetailText(ja, time, { detail: 'x', facts: { state: 'pin-refused', place: { slot: '3' } } })).toBe(
      'PKCS#11 スロット 3: 再ログイン時に PIN が拒否されました。再試行しません',
    );
    expect(
      tokenDetailText(ja, time, {
        detail: 'x',
        facts: { state: 'software', alg: 'ES256', certificateExpired: '2026-01-01T00:00:00.000Z' },
      }),
    ).toBe('ソフトウェア ES256 鍵、署名証明書の有効期限切れ (<2026-01-01T00:00:00.000Z>)');
    // A component that gives no parts keeps its own line.
    expect(tokenDetailText(ja, time, { detail: 'remote signer ok' })).toBe('remote signer ok');
  });

  it('an empty queue says so instead of showing bare headers', async () => {
    const jaQueue = await page('/queues/simulated', await session('kanri', 'second pass 2026 y'));
    expect(jaQueue).toContain('<p class="muted" data-empty="pending">メッセージはありません。</p>');
    expect(jaQueue).toContain('<p class="muted" data-empty="dead-letters">メッセージはありません。</p>');
    expect(jaQueue).not.toContain('<table');
    expect(await page('/queues/simulated', await session('admin-en', 'second pass 2026 y'))).toContain(
      'data-empty="pending">No messages.</p>',
    );
  });

  it('table cells keep Japanese words whole and the kind, state and progress columns on one line', () => {
    expect(STYLESHEET).toMatch(/td, th \{ word-break:keep-all; \}/);
    expect(STYLESHEET).toMatch(/td\.time, td\.nowrap \{ white-space:nowrap; \}/);
    expect(STYLESHEET).toMatch(/td\.progress \{ white-space:nowrap;/);
  });
});

// The `cluster` section: validated by `config check` with the path of every problem; the etcd client
// refuses missing TLS material by name and talks mTLS to etcd members that require client certificates.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatProblems, parseConfigText } from '../../config/load.js';
import { etcdClient } from '../../cluster/etcdClient.js';
import { startEtcdCluster, type EtcdCluster } from '../helpers/etcd.js';
import { createTestPki, type TestPki } from '../helpers/pki.js';
import { tempDir } from '../helpers/tmp.js';

const base = "municipalities: ['242012']\n";

describe('cluster section', () => {
  it('is optional: absent means single-box mode', () => {
    const r = parseConfigText(base);
    expect(r.ok && r.config.cluster).toBe(undefined);
  });

  it("accepts two nodes' worth of settings with defaults", () => {
    const r = parseConfigText(`${base}cluster:
  nodeId: gw-a
  advertise: 10.0.0.11:8883
  etcd:
    endpoints: [https://10.0.0.21:2379, https://10.0.0.22:2379, https://10.0.0.23:2379]
    tls: { ca: /etc/juki-gw/etcd-ca.crt, cert: /etc/juki-gw/etcd-client.crt, key: /etc/juki-gw/etcd-client.key }
`);
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.config.cluster).toMatchObject({ leaseTtlSeconds: 5, etcd: { prefix: '/juki-gw' }, log: { alarmEntries: 100_000 } });
  });

  it('the example in docs/cluster.md passes config check', () => {
    const doc = readFileSync(new URL('../../docs/cluster.md', import.meta.url), 'utf8');
    const yaml = /```yaml\n([\s\S]*?)```/.exec(doc)![1]!;
    const r = parseConfigText(yaml);
    expect(r.ok ? r.config.cluster?.nodeId : formatProblems(r.problems)).toBe('gw-a');
  });

  it('names every problem with its path', () => {
    const r = parseConfigText(`${base}cluster:
  nodeId: 'gw a'
  advertise: 10.0.0.11
  leaseTtlSeconds: 1
  etcd:
    endpoints: [http://10.0.0.21:2379, https://10.0.0.22:2379, https://10.0.0.22:2379, 'etcd3:2379']
    prefix: juki
  log: { alarmEntries: 5 }
  extra: 1
`);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const text = formatProblems(r.problems);
    expect(text).toContain('cluster.nodeId: expected 1-64 characters');
    expect(text).toContain('cluster.advertise: expected host:port');
    expect(text).toContain('cluster.leaseTtlSeconds: at least 2 seconds');
    expect(text).toContain('cluster.etcd.endpoints[3]: expected https://host:port');
    expect(text).toContain('cluster.etcd.prefix: expected a key prefix such as /juki-gw');
    expect(text).toContain('cluster.log.alarmEntries');
    expect(text).toMatch(/cluster: .*extra/);
    const r2 = parseConfigText(`${base}cluster:
  nodeId: gw-a
  advertise: gw-a:8883
  etcd: { endpoints: [http://10.0.0.21:2379, https://10.0.0.22:2379, https://10.0.0.22:2379] }
`);
    expect(r2.ok).toBe(false);
    if (r2.ok) return;
    const text2 = formatProblems(r2.problems);
    expect(text2).toContain('cluster.etcd.endpoints[0]: plain http:// to etcd only on loopback');
    expect(text2).toContain('cluster.etcd.tls: required for the https:// endpoint https://10.0.0.22:2379');
    expect(text2).toContain('cluster.etcd.endpoints: an endpoint is listed twice');
    const r3 = parseConfigText(
      `${base}cluster: { nodeId: a, advertise: 'a:1', etcd: { endpoints: [http://127.0.0.1:1, http://127.0.0.1:2, http://127.0.0.1:3], prefix: /${'p'.repeat(64)} } }\n`,
    );
    expect(r3.ok ? '' : formatProblems(r3.problems)).toContain('cluster.etcd.prefix: at most 64 characters');
  });
});

describe('etcd client over mTLS (real etcd, three members)', () => {
  const dir = tempDir();
  let pki: TestPki;
  let etcd: EtcdCluster;
  beforeAll(async () => {
    pki = await createTestPki(dir.path, { clients: ['gw-a'], expired: 'old', revoked: 'gone' });
    etcd = await startEtcdCluster(3, {
      caFile: pki.caFile,
      certFile: pki.server.certFile,
      keyFile: pki.server.keyFile,
      clientCertFile: pki.clients['gw-a']!.certFile,
      clientKeyFile: pki.clients['gw-a']!.keyFile,
    });
  });
  afterAll(async () => {
    await etcd?.stop();
    dir.cleanup();
  });

  it('refuses a missing TLS file by its setting and path', () => {
    expect(() =>
      etcdClient({
        endpoints: etcd.endpoints,
        prefix: '/x',
        tls: { ca: pki.caFile, cert: `${dir.path}/missing.crt`, key: pki.clients['gw-a']!.keyFile },
      }),
    ).toThrow(`cluster.etcd.tls.cert: cannot read ${dir.path}/missing.crt (ENOENT)`);
  });

  it('connects with the configured client certificate; without one etcd refuses', async () => {
    const client = etcdClient({
      endpoints: etcd.endpoints,
      prefix: '/x',
      tls: { ca: pki.caFile, cert: pki.clients['gw-a']!.certFile, key: pki.clients['gw-a']!.keyFile },
    });
    try {
      await client.put('/x/probe').value('ok').exec();
      expect(await client.get('/x/probe').string()).toBe('ok');
    } finally {
      client.close();
    }
    const rogue = etcdClient({
      endpoints: etcd.endpoints,
      prefix: '/x',
      tls: { ca: pki.caFile, cert: pki.rogue.certFile, key: pki.rogue.keyFile },
    });
    try {
      await expect(rogue.get('/x/probe').string()).rejects.toThrow();
    } finally {
      rogue.close();
    }
  });
});

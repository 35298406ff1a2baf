import { describe, expect, it } from 'vitest';
import { formatProblems, loadConfig, parseConfigText } from './load.js';

describe('config', () => {
  it('embedded default is valid', () => {
    const r = loadConfig(undefined, {});
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.config.municipalities).toEqual(['242012']);
  });

  it('reports every problem with its path', () => {
    const r = parseConfigText(`
municipalities: ['242010']
listeners:
  - { name: a, type: plain, host: 127.0.0.1, port: 1883 }
  - { name: b, type: plain, host: 10.0.0.1, port: 70000 }
systems:
  - { id: x, role: nobody }
`);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const text = formatProblems(r.problems);
    expect(text).toContain('municipalities[0]: check digit does not match');
    expect(text).toContain('listeners[1].port: expected 1..65535');
    expect(text).toContain('listeners[1].host: a plain listener is allowed only on loopback');
    expect(text).toContain('systems[0].role: unknown role "nobody"');
  });

  it('applies environment overrides', () => {
    const r = loadConfig(undefined, { JUKIGW_limits__maxPayloadBytes: '4096', JUKIGW_listeners__0__port: '2883' });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.limits.maxPayloadBytes).toBe(4096);
    expect(r.config.listeners[0]!.port).toBe(2883);
  });

  it('applies a top-level override (JUKIGW_dataDir), and the embedded default keeps its development passwords in that data dir', () => {
    const r = loadConfig(undefined, { JUKIGW_dataDir: '/srv/juki-gw/data' });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.dataDir).toBe('/srv/juki-gw/data');
    expect(r.config.systems.map((s) => s.password?.file)).toEqual(
      ['rr-01', 'term-01', 'nl-01', 'mon-01'].map((id) => `/srv/juki-gw/data/dev-passwords/${id}`),
    );
  });

  it('applies top-level overrides over a file too, and reports an unknown top-level name', () => {
    const r = parseConfigText("municipalities: ['242012']\n", { JUKIGW_dataDir: '/srv/d', JUKIGW_checkResidentCodeDigit: 'false' });
    expect(r.ok && r.config.dataDir).toBe('/srv/d');
    expect(r.ok && r.config.checkResidentCodeDigit).toBe(false);
    const bad = parseConfigText("municipalities: ['242012']\n", { JUKIGW_datadir: '/srv/d' });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(formatProblems(bad.problems)).toMatch(/datadir/);
  });

  it('leaves secret references and JUKIGW_CONFIG alone (upper-case names are not settings)', () => {
    const r = loadConfig(undefined, { JUKIGW_CONFIG: '/etc/juki-gw/config.yaml', JUKIGW_HSM_PIN: '1234', JUKIGW_API_TOKEN: 'x' });
    expect(r.ok).toBe(true);
  });

  it('refuses prototype keys in overrides', () => {
    const r = loadConfig(undefined, { JUKIGW___proto____x: '1' });
    expect(r.ok).toBe(false);
  });

  it('reports broken YAML and unknown keys', () => {
    const a = parseConfigText('municipalities: [');
    expect(a.ok).toBe(false);
    const b = parseConfigText("municipalities: ['242012']\npin: '1234'\n");
    expect(b.ok).toBe(false);
    if (!b.ok) expect(formatProblems(b.problems)).toMatch(/pin/);
  });
});

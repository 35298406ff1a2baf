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

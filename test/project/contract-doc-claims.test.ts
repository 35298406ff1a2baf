// What docs/contract.md (and the README) tell an integrator, held against the code that does it:
// CONNACK codes, what a code.request's serialNo is checked for, the serial format the simulated NWS
// issues, the simulated municipalities, and the forms (kana, postcode) a simulated reply carries.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EXAMPLE_BODIES } from '../../gateway/messages/examples.js';
import { OTHER_MUNICIPALITIES } from '../../appliance/simulatedUpstream.js';
import { nwsHandlers } from '../../sim/handlers/nws.js';
import { generateResidents } from '../../sim/residents.js';
import type { Envelope } from '../../platform/envelope.js';
import type { SimContext } from '../../sim/node.js';

const read = (p: string) => readFileSync(new URL(`../../${p}`, import.meta.url), 'utf8');
const contract = read('docs/contract.md').replace(/\s+/g, ' ');
const readme = read('README.md').replace(/\s+/g, ' ');

describe('docs/contract.md as an integrator reads it', () => {
  it('names CONNACK 4 for a wrong password and 5 for a login in backoff (test/broker/hostile-auth-guessing.test.ts shows both on a real broker)', () => {
    expect(contract).toContain('4 ("bad user name or password"): a wrong or missing password on a plain listener');
    expect(contract).toMatch(/5 \("not authorized"\): .* every login while its user name or address is in \*\*backoff\*\*/);
  });

  it('says exactly what a code.request serialNo is checked for: form and reuse, not that a serial.request issued it', () => {
    expect(contract).toContain('should be one a `serial.request` issued, but the appliance does not check that');
    expect(contract).toContain('`conflict` at `body.serialNo` (`serialNo.reused`)');
  });

  it('documents serials in the shape the simulated NWS issues them', async () => {
    const issued = (await nwsHandlers()['serial.request']!({} as Envelope, {} as SimContext)) as { serialNo: string };
    const shape = (s: string) => s.replace(/[0-9a-f]/g, 'x');
    const documented = [
      (EXAMPLE_BODIES['serial.request'].result as { serialNo: string }).serialNo,
      (EXAMPLE_BODIES['code.request'].request as { serialNo: string }).serialNo,
      ...[...read('docs/messages.md').matchAll(/"serialNo": "([^"]+)"/g)].map((m) => m[1]!),
    ];
    expect(documented.length).toBeGreaterThan(2);
    for (const s of documented) expect(shape(s), s).toBe(shape(issued.serialNo));
  });

  it('README and contract name the municipalities the appliance simulates', () => {
    for (const code of OTHER_MUNICIPALITIES) {
      expect(contract).toContain(`\`lg:${code}\``);
      expect(readme).toContain(code);
    }
    expect(contract).toContain(`the CS of ${['no', 'one', 'two', 'three'][OTHER_MUNICIPALITIES.length]} other municipalities`);
  });

  it('the forms a reply may carry, as the simulation holds them: hiragana kana, postcodes without hyphen', () => {
    expect(contract).toContain('**Forms a reply may carry.**');
    expect(contract).toContain('katakana or hiragana');
    expect(contract).toContain('`NNN-NNNN` or `NNNNNNN`');
    const people = [...generateResidents('mie', { seed: 'contract-forms', count: 50 })];
    const japanese = people.filter((p) => p.nameKana && !/[A-Za-z]/.test(String(p.name)));
    expect(japanese.length).toBeGreaterThan(10);
    for (const p of japanese) expect(p.nameKana, String(p.name)).toMatch(/^[\u3041-\u309f\u3000ー]+$/);
    for (const p of people) if (p.postcode) expect(p.postcode).toMatch(/^\d{7}$/);
  });
});

import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { GW_WHITELIST, screenBody } from '../../../gateway/gw/whitelist.js';
import { MESSAGE_TYPES, specOf, type MessageType } from '../../../gateway/messages/index.js';

const code = { lgCode: '242012', serialNo: 'SN-20261124-000001ab', myNumber: '123456789018' };

describe('GW whitelist (number-linkage segment)', () => {
  it('names only fields of the contract schema of each type', () => {
    for (const [type, fields] of Object.entries(GW_WHITELIST)) {
      const schema = specOf(type as MessageType, MESSAGE_TYPES).request as unknown as z.ZodObject;
      const shape = Object.keys(schema.shape);
      for (const f of fields) expect(shape, `${type}.${f}`).toContain(f);
    }
  });
  it('passes a whitelisted body unchanged', () => {
    expect(screenBody('code.request', code)).toEqual({ ok: true, body: code, stripped: [] });
  });
  it('strips unknown harmless scalar fields and names them', () => {
    const r = screenBody('code.request', { ...code, clientVersion: '2.1', trace: 7 });
    expect(r).toEqual({ ok: true, body: code, stripped: ['clientVersion', 'trace'] });
  });
  it('refuses smuggled personal data: a personal field name, a structured value, an identifier-shaped number', () => {
    const r = screenBody('code.request', { ...code, residentCode: '70000000017', extra: { a: 1 }, note: 'id 983205673214' });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe('invalid_request');
    expect(r.error.details).toEqual([
      { path: 'body.residentCode', problem: 'field.smuggled: "residentCode" is personal data not allowed in code.request' },
      { path: 'body.extra', problem: 'field.smuggled: structured value in a field outside the whitelist' },
      { path: 'body.note', problem: 'field.smuggled: identifier-shaped number in a field outside the whitelist' },
    ]);
    // The refusal never echoes the values.
    expect(JSON.stringify(r.error)).not.toContain('983205673214');
    expect(JSON.stringify(r.error)).not.toContain('70000000017');
  });
  it('refuses types the segment may not use, and non-object bodies', () => {
    const t = screenBody('identity.search', { name: 'x' });
    expect(t.ok === false && t.error.code).toBe('forbidden');
    expect(t.ok === false && t.error.details[0]!.problem).toMatch(/^type\.notWhitelisted/);
    const b = screenBody('serial.request', [1]);
    expect(b.ok === false && b.error.details[0]).toEqual({ path: 'body', problem: 'body.type: expected a JSON object' });
  });
});

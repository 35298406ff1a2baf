// Invisible and bidi format characters (Unicode Cf, default-ignorable code points, line separators)
// make two different stored names or addresses look alike, or one read backwards on screen: every
// name and address field of every message refuses them, with the field's path in the error detail.
import { describe, expect, it } from 'vitest';
import { EXAMPLE_BODIES, EXAMPLE_RECORD } from './examples.js';
import { createMessageRegistry, validateBody } from './registry.js';

const registry = createMessageRegistry({ today: () => '2026-11-24' });

const NAME_FIELDS = [
  'name',
  'nameKana',
  'kana',
  'formerSurname',
  'formerSurnameKana',
  'alias',
  'aliasKana',
  'householdHead',
  'deliveryName',
];
const ADDRESS_FIELDS = ['address', 'oldAddress', 'plannedAddress', 'newAddress', 'deliveryAddress'];

const INVISIBLE: Array<[cp: number, kind: string]> = [
  [0x202e, 'bidi control'],
  [0x202d, 'bidi control'],
  [0x2067, 'bidi control'],
  [0x200f, 'bidi control'],
  [0x061c, 'bidi control'],
  [0x200b, 'invisible or format character'],
  [0x200d, 'invisible or format character'],
  [0x2060, 'invisible or format character'],
  [0xfeff, 'invisible or format character'],
  [0x00ad, 'invisible or format character'],
  [0x180e, 'invisible or format character'],
  [0xe0041, 'invisible or format character'],
  [0x3164, 'invisible or format character'],
  [0x034f, 'invisible or format character'],
  [0x2028, 'invisible or format character'],
  [0x2029, 'invisible or format character'],
];

/** The example bodies, plus the optional name fields they leave out. */
function bodies(): Array<[type: string, body: Record<string, unknown>]> {
  const out: Array<[string, Record<string, unknown>]> = [];
  for (const [t, ex] of Object.entries(EXAMPLE_BODIES)) {
    out.push([t, structuredClone<Record<string, unknown>>(ex.request)]);
    if (ex.result) out.push([`${t}.result`, structuredClone<Record<string, unknown>>(ex.result)]);
  }
  const search = structuredClone<Record<string, unknown>>(EXAMPLE_BODIES['identity.search'].request);
  out.push(['identity.search', { ...search, kana: 'タカハシ ハナコ' }]);
  out.push(['identity.update', { record: { ...EXAMPLE_RECORD, alias: 'SMITH ANNA', aliasKana: 'スミス アンナ' } }]);
  const store = structuredClone(EXAMPLE_BODIES['moveout.cert.store'].request) as { certificate: Record<string, unknown> };
  out.push(['moveout.cert.store', { certificate: { ...store.certificate, householdHead: '津\u3000太郎' } }]);
  const delivery = structuredClone(EXAMPLE_BODIES['card.delivery'].request) as { items: Record<string, unknown>[] };
  out.push([
    'card.delivery',
    { ...delivery, items: [{ ...delivery.items[0]!, deliveryName: '津\u3000太郎', deliveryAddress: '三重県津市島崎町1番地' }] },
  ]);
  return out;
}

/** Every string field named in `fields`, as [detail path, parent object, key]. */
function fieldsOf(body: unknown, fields: string[], path = 'body'): Array<[string, Record<string, unknown>, string]> {
  if (Array.isArray(body)) return body.flatMap((x, i) => fieldsOf(x, fields, `${path}.${i}`));
  if (!body || typeof body !== 'object') return [];
  return Object.entries(body as Record<string, unknown>).flatMap(([k, v]) => [
    ...(typeof v === 'string' && fields.includes(k)
      ? [[`${path}.${k}`, body as Record<string, unknown>, k] as [string, Record<string, unknown>, string]]
      : []),
    ...fieldsOf(v, fields, `${path}.${k}`),
  ]);
}

describe('invisible and bidi format characters in names and addresses', () => {
  it('the bodies used are valid as they are', () => {
    for (const [t, b] of bodies()) expect(validateBody(t, b, registry), t).toMatchObject({ ok: true });
  });

  it('are refused in every name and address field, naming the path, the code point and the position', () => {
    const seen = new Set<string>();
    let checked = 0;
    for (const [t, body] of bodies()) {
      for (const [path, parent, key] of fieldsOf(body, [...NAME_FIELDS, ...ADDRESS_FIELDS])) {
        seen.add(key);
        const original = parent[key] as string;
        const at = [...original].length > 1 ? 1 : 0;
        for (const [cp, kind] of INVISIBLE) {
          parent[key] = [...original].slice(0, at).join('') + String.fromCodePoint(cp) + [...original].slice(at).join('');
          const r = validateBody(t, body, registry);
          const hex = `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
          expect(r.ok, `${t} ${path} ${hex}`).toBe(false);
          if (r.ok) continue;
          expect(r.error.details, `${t} ${path} ${hex}`).toContainEqual({
            path,
            problem: expect.stringMatching(
              new RegExp(`\\.charset: ${hex.replace('+', '\\+')} \\(${kind}\\) is not allowed at position ${at}$`),
            ),
          });
          checked++;
        }
        parent[key] = original;
      }
    }
    expect([...seen].sort()).toEqual([...NAME_FIELDS, ...ADDRESS_FIELDS].sort());
    expect(checked).toBeGreaterThan(500);
  });

  it('leaves variation selectors after an ideograph (異体字) in addresses as they are', () => {
    const body = { ...EXAMPLE_BODIES['identity.search'].request, address: '奈良県葛\u{E0100}城市' };
    expect(validateBody('identity.search', body, registry)).toMatchObject({ ok: true });
    const stray = { ...body, address: '奈良県葛城市1\u{E0100}' };
    const r = validateBody('identity.search', stray, registry);
    expect(r.ok || r.error.details).toContainEqual({
      path: 'body.address',
      problem: 'address.charset: U+E0100 (variation selector) is not allowed at position 7',
    });
  });
});

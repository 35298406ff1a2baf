// Which local requests may share a group commit (local/intake.ts), and the keys of what each one's
// flow reads besides its own request id. identity.update reads the person's record (住民票コード) and
// who holds the 個人番号 it sets; the flow adds the 個人番号 the record gives up (ctx.claim). The
// interactive look-ups only write their pending record, keyed by the request id. Every other type
// reads more (searches, move-in/out, cards, serials) and is written in a group of its own.
const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const field = (v: unknown, name: string): unknown =>
  v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[name] : undefined;

function identityUpdateKeys(body: unknown): string[] {
  const record = field(body, 'record');
  const rc = text(field(record, 'residentCode'));
  const mn = text(field(record, 'myNumber'));
  return [...(rc === undefined ? [] : [`rc:${rc}`]), ...(mn === undefined ? [] : [`mn:${mn}`])];
}

export const GROUP_KEYS: ReadonlyMap<string, (body: unknown) => string[]> = new Map([
  ['identity.update', identityUpdateKeys],
  ['identity.verify', () => []],
  ['jlis.inquiry', () => []],
]);

/** The 住民票コード among group keys: the records a pass's updates will read (intake read-ahead). */
export function residentCodesOf(keys: readonly string[]): string[] {
  return keys.filter((k) => k.startsWith('rc:')).map((k) => k.slice(3));
}

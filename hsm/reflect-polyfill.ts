// @peculiar/x509 uses tsyringe, which insists on a Reflect metadata API even though x509 registers
// its classes without decorators. This minimal stand-in must be imported before @peculiar/x509.
type MetaStore = WeakMap<object, Map<unknown, unknown>>;
// why: the polyfill adds members (getMetadata, …) that the Reflect namespace type does not have.
const R = Reflect as unknown as Record<string, unknown>;
if (typeof R.getMetadata !== 'function') {
  const store: MetaStore = new WeakMap();
  const mapOf = (target: object) => {
    let m = store.get(target);
    if (!m) {
      m = new Map();
      store.set(target, m);
    }
    return m;
  };
  R.defineMetadata = (key: unknown, value: unknown, target: object) => {
    mapOf(target).set(key, value);
  };
  R.getMetadata = (key: unknown, target: object): unknown => {
    for (let t: object | null = target; t; t = Object.getPrototypeOf(t) as object | null) {
      const m = store.get(t);
      if (m?.has(key)) return m.get(key);
    }
    return undefined;
  };
  R.getOwnMetadata = (key: unknown, target: object) => store.get(target)?.get(key);
  R.hasMetadata = (key: unknown, target: object) =>
    R.getMetadata !== undefined && (R.getMetadata as (k: unknown, t: object) => unknown)(key, target) !== undefined;
  R.metadata = (key: unknown, value: unknown) => (target: object) => {
    mapOf(target).set(key, value);
  };
}
export {};

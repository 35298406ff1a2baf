// Watches the writes this process hands to LevelDB, at classic-level's native binding: every
// put, delete, array batch, chained batch and range clear of every ClassicLevel (sublevels and
// wrappers included) ends in one of these calls, with the options LevelDB gets. Each write is
// recorded with its database, keys and sync flag, in one trace with the events a test marks
// (acknowledgements), in the order they happened.
import { createRequire } from 'node:module';

type Fn = (...args: unknown[]) => unknown;
const binding = createRequire(import.meta.url)('classic-level/binding.js') as Record<string, Fn>;

export interface RecordedWrite {
  kind: 'write';
  call: 'put' | 'del' | 'batch' | 'chained' | 'clear';
  location: string;
  sync: boolean;
  ops: Array<{ type: 'put' | 'del' | 'clear'; key: string }>;
}
export interface MarkedEvent {
  kind: 'event';
  name: string;
  detail: string;
}
export type TraceEntry = RecordedWrite | MarkedEvent;

export interface WriteRecorder {
  readonly trace: TraceEntry[];
  mark(name: string, detail?: string): void;
  /** Puts the binding back as it was. */
  stop(): void;
}

const keyText = (k: unknown): string => (typeof k === 'string' ? k : Buffer.from(k as Uint8Array).toString('utf8'));
const syncOf = (o: unknown): boolean => (o as { sync?: unknown } | undefined)?.sync === true;

export function recordWrites(): WriteRecorder {
  const trace: TraceEntry[] = [];
  const locations = new WeakMap<object, string>();
  const batches = new WeakMap<object, { location: string; ops: RecordedWrite['ops'] }>();
  const original = { ...binding };
  const wrap = (name: string, before: (...args: unknown[]) => void) => {
    const fn = original[name]!;
    binding[name] = function (this: unknown, ...args: unknown[]) {
      before(...args);
      return fn.apply(this, args);
    };
  };
  const where = (ctx: unknown) => locations.get(ctx as object) ?? '?';
  const write = (call: RecordedWrite['call'], ctx: unknown, options: unknown, ops: RecordedWrite['ops']) => {
    trace.push({ kind: 'write', call, location: where(ctx), sync: syncOf(options), ops });
  };
  wrap('db_open', (ctx, location) => {
    locations.set(ctx as object, String(location));
  });
  wrap('db_put', (ctx, key, _v, o) => write('put', ctx, o, [{ type: 'put', key: keyText(key) }]));
  wrap('db_del', (ctx, key, o) => write('del', ctx, o, [{ type: 'del', key: keyText(key) }]));
  wrap('db_clear', (ctx, o) => {
    const r = o as { gt?: unknown; gte?: unknown; lt?: unknown; lte?: unknown };
    const from = r.gte ?? r.gt;
    write('clear', ctx, o, [{ type: 'clear', key: from === undefined ? '' : keyText(from) }]);
  });
  wrap('batch_do', (ctx, ops, o) =>
    write(
      'batch',
      ctx,
      o,
      (ops as Array<{ type: 'put' | 'del'; key: unknown }>).map((op) => ({ type: op.type, key: keyText(op.key) })),
    ),
  );
  const init = original.batch_init!;
  binding.batch_init = function (this: unknown, ctx: unknown) {
    const b = init.call(this, ctx) as object;
    batches.set(b, { location: where(ctx), ops: [] });
    return b;
  };
  wrap('batch_put', (b, key) => {
    batches.get(b as object)?.ops.push({ type: 'put', key: keyText(key) });
  });
  wrap('batch_del', (b, key) => {
    batches.get(b as object)?.ops.push({ type: 'del', key: keyText(key) });
  });
  wrap('batch_clear', (b) => {
    const r = batches.get(b as object);
    if (r) r.ops = [];
  });
  wrap('batch_write', (b, o) => {
    const r = batches.get(b as object);
    trace.push({ kind: 'write', call: 'chained', location: r?.location ?? '?', sync: syncOf(o), ops: r?.ops ?? [] });
  });
  return {
    trace,
    mark(name, detail = '') {
      trace.push({ kind: 'event', name, detail });
    },
    stop() {
      Object.assign(binding, original);
    },
  };
}

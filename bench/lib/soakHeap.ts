// Heap snapshot diff for the soak: which kinds of JS objects grew between two snapshots of the same
// process (taken with --heapsnapshot-signal, each after a full GC, so only live objects count).
// Usage by hand: node --import tsx bench/lib/soakHeap.ts FIRST.heapsnapshot LAST.heapsnapshot
import { readFileSync } from 'node:fs';

interface RawSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

export interface HeapGroup {
  key: string;
  count: number;
  bytes: number;
}

/** Live objects grouped by type and constructor/function name (strings and code grouped by type only). */
export function heapGroups(path: string): Map<string, HeapGroup> {
  const raw = JSON.parse(readFileSync(path, 'utf8')) as RawSnapshot;
  const fields = raw.snapshot.meta.node_fields;
  const types = raw.snapshot.meta.node_types[0];
  const width = fields.length;
  const [fType, fName, fSize] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f)) as [number, number, number];
  const groups = new Map<string, HeapGroup>();
  for (let i = 0; i < raw.nodes.length; i += width) {
    const type = types[raw.nodes[i + fType]!]!;
    const named = type === 'object' || type === 'closure' || type === 'native' || type === 'array';
    const key = named ? `${type}:${raw.strings[raw.nodes[i + fName]!]!.slice(0, 80)}` : type;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { key, count: 0, bytes: 0 }));
    g.count++;
    g.bytes += raw.nodes[i + fSize]!;
  }
  return groups;
}

export interface HeapDiff {
  totalBytes: [number, number];
  grew: Array<{ key: string; count: number; bytes: number }>;
}

/** The groups that grew most in bytes from `first` to `last`. */
export function diffHeap(first: string, last: string, top = 15): HeapDiff {
  const a = heapGroups(first);
  const b = heapGroups(last);
  const total = (m: Map<string, HeapGroup>) => [...m.values()].reduce((s, g) => s + g.bytes, 0);
  const grew = [...b.values()]
    .map((g) => ({ key: g.key, count: g.count - (a.get(g.key)?.count ?? 0), bytes: g.bytes - (a.get(g.key)?.bytes ?? 0) }))
    .sort((x, y) => y.bytes - x.bytes)
    .slice(0, top);
  return { totalBytes: [total(a), total(b)], grew };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, '')) && process.argv.length >= 4) {
  const d = diffHeap(process.argv[2]!, process.argv[3]!, Number(process.argv[4] ?? 25));
  console.log(`live heap ${(d.totalBytes[0] / 1048576).toFixed(1)} → ${(d.totalBytes[1] / 1048576).toFixed(1)} MB`);
  for (const g of d.grew) console.log(`${(g.bytes / 1024).toFixed(0).padStart(8)} KiB ${String(g.count).padStart(8)}  ${g.key}`);
}

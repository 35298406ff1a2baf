// Size of the replicated log as the active node sees it (entries, bytes), for metrics and the alarm.
// etcd cannot sum value sizes, so the active node counts: a scan when it takes over, then its own
// appends in and compacted positions out.
import type { Etcd3 } from 'etcd3';
import { positionOf, type ClusterKeys } from './keys.js';

export class LogSize {
  private sizes = new Map<number, number>();
  private total = 0;

  static async scan(client: Etcd3, keys: ClusterKeys): Promise<LogSize> {
    const size = new LogSize();
    let start = keys.logPrefix;
    for (;;) {
      const res = await client
        .getAll()
        .inRange({ start, end: keys.logPrefix + '~' })
        .sort('Key', 'Ascend')
        .limit(256)
        .exec();
      for (const kv of res.kvs) size.add(positionOf(kv.key.toString('utf8')), kv.value.length);
      if (!res.more || res.kvs.length === 0) return size;
      start = keys.entry(positionOf(res.kvs[res.kvs.length - 1]!.key.toString('utf8')) + 1);
    }
  }

  get entries(): number {
    return this.sizes.size;
  }
  get bytes(): number {
    return this.total;
  }

  add(position: number, bytes: number): void {
    this.sizes.set(position, bytes);
    this.total += bytes;
  }

  dropThrough(position: number): void {
    for (const [p, b] of this.sizes) {
      if (p > position) break;
      this.sizes.delete(p);
      this.total -= b;
    }
  }
}

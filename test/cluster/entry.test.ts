// The log entry encoding: what a replica applies is exactly what the active node committed, in a
// compact binary form; a damaged entry is refused with where it is damaged, never half-applied.
import { describe, expect, it } from 'vitest';
import { CommitTooLargeError, decodeEntry, decodeLogEntry, encodeCommit, encodeEntry, type EntryOp } from '../../cluster/entry.js';

describe('log entry encoding', () => {
  const ops: EntryOp[] = [
    { type: 'put', key: '!identity!住民票コード-1', value: new Uint8Array([0, 1, 2, 255]) },
    { type: 'del', key: '!outbox!0000000000000007' },
    { type: 'put', key: '!ui!empty', value: new Uint8Array(0) },
    { type: 'clear', range: { gte: '!seen!', lt: '!seen"' } },
  ];

  it('round-trips puts, deletes and range clears byte for byte', () => {
    expect(decodeEntry(encodeEntry(ops))).toEqual(ops);
  });

  it('costs a few bytes per op beyond keys and values (not a JSON array of numbers)', () => {
    const value = new Uint8Array(1024).fill(200);
    const bytes = encodeEntry([{ type: 'put', key: '!outbox!k', value }]);
    expect(bytes.length).toBe(1 + 1 + 4 + '!outbox!k'.length + 4 + 1024);
    expect(JSON.stringify([...value]).length).toBeGreaterThan(3 * 1024);
  });

  it('refuses a damaged entry, naming the byte', () => {
    const good = encodeEntry(ops);
    expect(() => decodeEntry(good.subarray(0, good.length - 3))).toThrow(/log entry: field of \d+ bytes runs past the end at byte \d+/);
    const badTag = Buffer.from(good);
    badTag[1] = 9;
    expect(() => decodeEntry(badTag)).toThrow('log entry: unknown op tag 9 at byte 1');
    const badVersion = Buffer.from(good);
    badVersion[0] = 7;
    expect(() => decodeEntry(badVersion)).toThrow('log entry: unknown encoding version 7');
    expect(() => decodeEntry(Buffer.from([1, 0, 0, 0]))).toThrow('log entry: truncated at byte 2');
  });

  it('splits a commit larger than an entry into parts between ops, each within the limit, in order', () => {
    const big: EntryOp[] = Array.from({ length: 40 }, (_, i) => ({
      type: 'put',
      key: `!identity!r${i}`,
      value: new Uint8Array(1000).fill(i),
    }));
    expect(encodeCommit(ops, 4096)).toEqual([encodeEntry(ops)]);
    const parts = encodeCommit([...big, ...ops], 4096);
    expect(parts.length).toBeGreaterThan(1);
    for (const p of parts) expect(p.length).toBeLessThanOrEqual(4096);
    const decoded = parts.map((p) => decodeLogEntry(p));
    expect(decoded.map((d) => d.part)).toEqual(parts.map((_, index) => ({ index, count: parts.length })));
    expect(decoded.flatMap((d) => d.ops)).toEqual([...big, ...ops]);
    expect(() => decodeEntry(parts[0]!)).toThrow(`log entry: part 1 of ${parts.length} of a commit, not a whole commit`);
  });

  it('refuses a single write larger than an entry, naming its size', () => {
    const huge: EntryOp = { type: 'put', key: '!r!huge', value: new Uint8Array(5000) };
    expect(() => encodeCommit([huge], 4096)).toThrow(CommitTooLargeError);
    expect(() => encodeCommit([huge], 4096)).toThrow(
      /one write of 50\d\d bytes exceeds what one etcd request carries \(4096 bytes for an entry\); nothing written/,
    );
  });
});

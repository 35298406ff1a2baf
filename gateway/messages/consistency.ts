// 本人確認情報整合 (6-①②③) [assumed method, schema version 1]: the CS compares what it holds with a
// prefectural or national server in phases, so only differences travel:
//   snapshot (sequence H) → buckets (digests of SHA-256(住民票コード)-prefix buckets) → entries
//   ((code, record hash) for differing buckets) → records (full records for differing codes).
// `full` sends every record page by page (first load, disaster recovery). Hashes and buckets are
// computed as in domain/consistency.ts. Every phase is resumable: it names checkId and H.
import { z } from 'zod';
import { asciiId, enumField, intField, type FieldKit } from './fields.js';
import { identityRecordSchema } from './identityRecord.js';
import type { MessageSpec } from './spec.js';
import { RECORD_HASH_FIELDS } from '../../domain/consistency.js';

// Sized so every message stays well under the default 1 MiB payload limit: 4096 digests ≈ 280 KB,
// 5000 (code, hash) entries ≈ 450 KB, 500 records ≈ 300 KB. A bucket must fit one entries message,
// so the CS picks bucketBits with ≤ 5000 records per bucket (12 bits: ≈ 900 for Yokohama's 3.7 M).
export const MAX_DIGESTS_PER_MESSAGE = 4096;
export const MAX_ENTRIES_PER_MESSAGE = 5000;
export const MAX_RECORDS_PER_MESSAGE = 500;

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'hash.format: expected 64 lower-case hex digits (SHA-256)');

export function consistencySchemas(k: FieldKit) {
  const record = identityRecordSchema(k);
  const seq = (d: string) => intField('snapshotSeq', 0, Number.MAX_SAFE_INTEGER, d);
  const base = {
    checkId: asciiId('checkId', 64, 'id of this consistency check run (same in every phase; resume with it)'),
    lgCode: k.lgCode.describe('the municipality whose records are compared'),
    snapshotSeq: seq("H: the CS's last update sequence number included in the snapshot"),
  };
  const codes = (d: string) => z.array(k.residentCode).max(MAX_ENTRIES_PER_MESSAGE).describe(d);
  const difference = z.strictObject({
    residentCode: k.residentCode,
    fields: z.array(z.enum(RECORD_HASH_FIELDS)).min(1).describe('fields whose stored values differ'),
    serverRecord: record.optional().describe("the server's version, for the operator reviewing the fix"),
  });
  const bucketBits = intField(
    'bucketBits',
    1,
    16,
    'number of leading bits of SHA-256(住民票コード) forming the bucket (12 = 4096 buckets)',
  );

  const request = z
    .discriminatedUnion(
      'phase',
      [
        z.strictObject({
          phase: z.literal('snapshot').describe('announce the snapshot'),
          ...base,
          mode: enumField('mode', ['incremental', 'full'] as const, '"incremental" (buckets → entries → records) or "full" (every record)'),
          bucketBits,
          recordCount: intField('recordCount', 0, Number.MAX_SAFE_INTEGER, 'records in the snapshot (current and deleted)'),
        }),
        z.strictObject({
          phase: z.literal('buckets').describe('bucket digests'),
          ...base,
          bucketBits,
          offset: intField('offset', 0, 65535, 'index of the first bucket in digests'),
          digests: z.array(hex64).min(1).max(MAX_DIGESTS_PER_MESSAGE).describe('SHA-256 over sorted "code:hash\\n" lines of each bucket'),
        }),
        z.strictObject({
          phase: z.literal('entries').describe('(code, record hash) of one differing bucket'),
          ...base,
          bucket: intField('bucket', 0, 65535, 'bucket index'),
          entries: z
            .array(z.strictObject({ residentCode: k.residentCode, hash: hex64.describe('record hash') }))
            .max(MAX_ENTRIES_PER_MESSAGE, `entries.length: at most ${MAX_ENTRIES_PER_MESSAGE}; use more bucketBits`)
            .describe('every (code, hash) the CS holds in this bucket'),
        }),
        z.strictObject({
          phase: z.literal('records').describe('full records of differing codes'),
          ...base,
          records: z.array(record).min(1).max(MAX_RECORDS_PER_MESSAGE).describe("the CS's records"),
        }),
        z.strictObject({
          phase: z.literal('full').describe('one page of a full transfer'),
          ...base,
          page: intField('page', 0, Number.MAX_SAFE_INTEGER, 'page number from 0'),
          records: z.array(record).max(MAX_RECORDS_PER_MESSAGE).describe('records of this page, in code order'),
          last: z.boolean().describe('true on the final page'),
        }),
      ],
      { error: 'phase.code: expected "snapshot", "buckets", "entries", "records" or "full"' },
    )
    .describe('consistency check phase');

  const rbase = { checkId: base.checkId, lgCode: base.lgCode };
  const result = z
    .discriminatedUnion(
      'phase',
      [
        z.strictObject({
          phase: z.literal('snapshot'),
          ...rbase,
          serverSeq: intField(
            'serverSeq',
            0,
            Number.MAX_SAFE_INTEGER,
            'last update sequence number of this municipality the server has applied',
          ).optional(),
          serverRecordCount: intField('serverRecordCount', 0, Number.MAX_SAFE_INTEGER, 'records the server holds for the municipality'),
        }),
        z.strictObject({
          phase: z.literal('buckets'),
          ...rbase,
          offset: intField('offset', 0, 65535, 'as in the request'),
          differing: z.array(z.number().int().min(0).max(65535)).describe('indices of buckets whose digests differ'),
        }),
        z.strictObject({
          phase: z.literal('entries'),
          ...rbase,
          bucket: intField('bucket', 0, 65535, 'as in the request'),
          onlyAtServer: codes('codes the server holds and the CS does not'),
          onlyAtCs: codes('codes the CS holds and the server does not'),
          differing: codes('codes whose record hashes differ'),
        }),
        z.strictObject({
          phase: z.literal('records'),
          ...rbase,
          differences: z.array(difference).describe('field differences per code'),
          onlyAtCs: codes('codes the server does not hold'),
        }),
        z.strictObject({
          phase: z.literal('full'),
          ...rbase,
          page: intField('page', 0, Number.MAX_SAFE_INTEGER, 'as in the request'),
          differences: z.array(difference).describe('field differences on this page'),
          onlyAtCs: codes('codes of this page the server does not hold'),
          onlyAtServer: codes('on the last page: codes the server holds that no page carried').optional(),
        }),
      ],
      { error: 'phase.code: expected "snapshot", "buckets", "entries", "records" or "full"' },
    )
    .describe('consistency result of one phase');

  return { request, result };
}

export function consistencyMessages(k: FieldKit) {
  const { request, result } = consistencySchemas(k);
  return {
    'consistency.check': {
      kind: 'interactive',
      schemaVersion: 1,
      description:
        "6-① CS → pref: / national: one phase of a consistency check; the reply (consistency.check.result) carries that phase's result",
      request,
      result,
    },
    'consistency.result': {
      kind: 'durable',
      schemaVersion: 1,
      description: '6-③ pref: / national → CS: a phase result sent on its own (e.g. after a long comparison)',
      request: result,
    },
  } satisfies Record<string, MessageSpec>;
}

import { afterEach, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { createLookupAlerts, openAudit, type LookupAlertConfig } from '../../../gateway/audit/index.js';
import { openApplianceDb } from '../../../platform/store/db.js';
import { tempDir } from '../../helpers/tmp.js';
import { testSigner } from './audit-helpers.js';
import { join } from 'node:path';
import { auditSection } from '../../../config/schema/audit.js';
import { eventually, lookup, openFixture, type Fixture } from './audit-helpers.js';

const config: LookupAlertConfig = {
  actions: ['identity.search'],
  searchesPerMinute: 5,
  searchesPerHour: 20,
  hitsPerHour: 50,
  hitsPerSearch: 30,
  holdSeconds: 600,
};

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino(
    { level: 'info' },
    new Writable({
      write(chunk, _e, cb) {
        lines.push(JSON.parse(String(chunk)));
        cb();
      },
    }),
  );
  return { logger, lines };
}

let fx: Fixture | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
});

describe('look-up alarms', () => {
  it('raises per operator and per terminal when searches per minute exceed the threshold', () => {
    let t = Date.parse('2026-11-24T01:00:00Z');
    const registry = new Registry();
    const { logger, lines } = capture();
    const alerts = createLookupAlerts({ config, registry, logger, now: () => t });
    const raised = [];
    for (let i = 0; i < 6; i++) {
      raised.push(...alerts.record({ operatorId: 'op-1', terminalId: 'term-9', hits: 1 }));
      t += 1000;
    }
    expect(raised.map((a) => `${a.scope}:${a.subject}:${a.rule}`)).toEqual([
      'operator:op-1:searches_per_minute',
      'terminal:term-9:searches_per_minute',
    ]);
    expect(raised[0]).toMatchObject({ value: 6, threshold: 5 });
    expect(alerts.activeAlarms()).toHaveLength(2);
    alerts.record({ operatorId: 'op-1', hits: 1 });
    expect(alerts.activeAlarms().find((a) => a.scope === 'operator')?.occurrences).toBe(2);
    expect(lines.filter((l) => l.alarm === 'lookup' && l.level === 40)).toHaveLength(2);
    return registry.metrics().then((m) => {
      expect(m).toMatch(/jukigw_lookup_alarms_total\{scope="operator",rule="searches_per_minute"\} 1/);
      expect(m).toMatch(/jukigw_lookup_alarms_active\{scope="terminal"\} 1/);
    });
  });

  it('slides the window: the same rate spread over time raises nothing', () => {
    let t = 0;
    const alerts = createLookupAlerts({ config, now: () => t });
    for (let i = 0; i < 15; i++) {
      expect(alerts.record({ operatorId: 'op-2', hits: 1 })).toEqual([]);
      t += 15_000;
    }
    expect(alerts.activeAlarms()).toEqual([]);
  });

  it('detects repeated searches per hour, total hits per hour and a single bulk search', () => {
    let t = 0;
    const alerts = createLookupAlerts({ config, now: () => t });
    const rules: string[] = [];
    for (let i = 0; i < 21; i++) {
      rules.push(...alerts.record({ terminalId: 'term-3', hits: 2 }).map((a) => a.rule));
      t += 60_000;
    }
    expect(rules).toEqual(['searches_per_hour']);
    expect(alerts.record({ operatorId: 'op-4', hits: 31 }).map((a) => a.rule)).toEqual(['bulk_search']);
    expect(alerts.record({ operatorId: 'op-4', hits: 25 }).map((a) => a.rule)).toEqual(['hits_per_hour']);
  });

  it('clears after the hold time or on acknowledgement', () => {
    let t = 0;
    const alerts = createLookupAlerts({ config, now: () => t });
    const raised = alerts.record({ operatorId: 'op-5', hits: 100 });
    expect(raised.map((a) => a.rule)).toEqual(['bulk_search', 'hits_per_hour']);
    for (const a of raised) expect(alerts.acknowledge(a.id, 'admin-1')).toBe(true);
    expect(alerts.activeAlarms()).toEqual([]);
    t += 1000;
    expect(alerts.record({ operatorId: 'op-5', hits: 100 }).map((a) => a.rule)).toEqual(['bulk_search', 'hits_per_hour']);
    t += 601_000;
    expect(alerts.activeAlarms()).toEqual([]);
    expect(alerts.acknowledge('nope', 'admin-1')).toBe(false);
  });

  it('is fed by the audit log and records each raised alarm as an audit entry', async () => {
    const alerts = createLookupAlerts({ config: { ...config, searchesPerMinute: 3 } });
    fx = await openFixture({ lookupAlerts: alerts });
    for (let i = 0; i < 4; i++)
      await fx.log.append(lookup(i, { actor: { kind: 'operator', id: 'op-7' }, terminalId: 'term-7', hitCount: 1 }));
    await fx.log.append(lookup(9, { action: 'identity.update', actor: { kind: 'operator', id: 'op-7' } }));
    await eventually(async () => (await fx!.log.query({ action: 'audit.lookupAlarm' })).length === 2);
    expect(
      alerts
        .activeAlarms()
        .map((a) => a.id)
        .sort(),
    ).toEqual(['operator:op-7:searches_per_minute', 'terminal:term-7:searches_per_minute']);
    const recorded = await fx.log.query({ action: 'audit.lookupAlarm' });
    expect(recorded.map((e) => e.event.detail?.subject).sort()).toEqual(['op-7', 'term-7']);
    expect((await fx.log.verify()).ok).toBe(true);
  });

  it('thresholds come from the audit config section with defaults', () => {
    const c = auditSection.parse({});
    expect(c).toMatchObject({ retentionYears: 7, checkpointEvery: 1000, checkpointSeconds: 60 });
    expect(c.lookupAlerts.actions).toContain('identity.search');
    const bad = auditSection.safeParse({ lookupAlerts: { searchesPerMinute: 50, searchesPerHour: 10 } });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.path).toEqual(['lookupAlerts', 'searchesPerHour']);
  });

  it('openAudit wires the config section: checkpoint cadence and alarm thresholds', async () => {
    const dir = tempDir('jukigw-audit-cfg-');
    const db = await openApplianceDb(join(dir.path, 'db'));
    const config = auditSection.parse({ checkpointEvery: 3, lookupAlerts: { searchesPerMinute: 2, searchesPerHour: 10 } });
    const { log, lookupAlerts } = await openAudit({ config, db, signer: await testSigner() });
    for (let i = 0; i < 3; i++) await log.append(lookup(i, { actor: { kind: 'operator', id: 'op-9' } }));
    await eventually(async () => ((await log.verify()).lastCheckpointSeq ?? 0) >= 3);
    expect(lookupAlerts.activeAlarms().map((a) => a.id)).toContain('operator:op-9:searches_per_minute');
    expect((await log.verify()).lastCheckpointSeq).toBeGreaterThanOrEqual(3);
    await log.close();
    await db.close();
    dir.cleanup();
  });
});

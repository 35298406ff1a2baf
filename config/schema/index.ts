// One schema for the whole appliance. Each section lives in its own file; this one composes them.
import { z } from 'zod';
import { adminSection, logSection, uiSection } from './admin.js';
import { brokerSection, limits, listener, localSystem, role } from './broker.js';
import { lgCode } from './common.js';
import { hsmSection, trustSection } from './hsm.js';
import { uplinkSection, upstream } from './uplink.js';
import { auditSection } from './audit.js';
import { provisionSection } from './provision.js';
import { clusterSection } from './cluster.js';
import { DEFAULT_ROLES } from './roles.js';

export const configSchema = z
  .object({
    /** Municipality codes this installation serves as CS (a designated city may serve all its wards). */
    municipalities: z
      .array(lgCode)
      .min(1, 'serve at least one municipality code')
      .describe('Municipality codes this installation serves as CS (a designated city may serve all its wards).'),
    dataDir: z
      .string()
      .min(1)
      .default('./data')
      .describe(
        'LevelDB, keys, token and generated material; created 0700 with everything in it 0600 (the appliance sets umask 077), an existing one looser than 0700 is warned about at start',
      ),
    listeners: z.array(listener).default([]).describe('MQTT listeners for local systems: mTLS, or plain on loopback only'),
    broker: brokerSection.default({ mode: 'appliance', syncWrites: true }),
    roles: z
      .record(z.string().min(1), role)
      .default(DEFAULT_ROLES)
      .describe('Role → message types it may send on req/{type} (default deny)'),
    systems: z.array(localSystem).default([]).describe('Local systems (system ID = certificate CN = MQTT client ID) and their role'),
    limits: limits.default(limits.parse({})),
    hsm: hsmSection.default({ kind: 'auto', keyLabel: 'juki-gw-signing', algorithm: 'ES256', sessions: 4, signingThreads: true }),
    trust: trustSection.default(trustSection.parse({})),
    /** Upstream brokers; none configured → simulated upstreams on an embedded broker. */
    upstreams: z.array(upstream).default([]).describe('Upstream brokers; none configured → simulated upstreams on an embedded broker.'),
    uplink: uplinkSection.default(uplinkSection.parse({})),
    /** 住民票コード check digit: the formula is [assumed], so the check can be switched off. */
    checkResidentCodeDigit: z
      .boolean()
      .default(true)
      .describe('住民票コード check digit: the formula is [assumed], so the check can be switched off.'),
    admin: adminSection.default({ host: '127.0.0.1', port: 9464 }),
    ui: uiSection.default(uiSection.parse({})),
    log: logSection.default({ level: 'info' }),
    audit: auditSection.default(auditSection.parse({})),
    provision: provisionSection.default(provisionSection.parse({})),
    /** Absent: single-box mode (the embedded LevelDB alone). */
    cluster: clusterSection
      .optional()
      .describe('Cluster mode: two appliance nodes, one active, over a three-member etcd (docs/cluster.md); absent: single-box mode'),
  })
  .strict()
  .superRefine((c, ctx) => {
    const names = new Set<string>();
    c.listeners.forEach((l, i) => {
      if (names.has(l.name))
        ctx.addIssue({ code: 'custom', path: ['listeners', i, 'name'], message: `duplicate listener name "${l.name}"` });
      names.add(l.name);
    });
    const ids = new Set<string>();
    c.systems.forEach((s, i) => {
      if (ids.has(s.id)) ctx.addIssue({ code: 'custom', path: ['systems', i, 'id'], message: `duplicate system id "${s.id}"` });
      ids.add(s.id);
      if (!(s.role in c.roles))
        ctx.addIssue({
          code: 'custom',
          path: ['systems', i, 'role'],
          message: `unknown role "${s.role}" (known: ${Object.keys(c.roles).join(', ')})`,
        });
    });
    if (c.broker.anonymousRole !== undefined && !(c.broker.anonymousRole in c.roles)) {
      ctx.addIssue({ code: 'custom', path: ['broker', 'anonymousRole'], message: `unknown role "${c.broker.anonymousRole}"` });
    }
    if (c.broker.anonymousRole !== undefined && c.broker.mode !== 'standalone') {
      ctx.addIssue({ code: 'custom', path: ['broker', 'anonymousRole'], message: 'only allowed in standalone mode' });
    }
    for (const [name, r] of Object.entries(c.roles)) {
      if (r.topics && c.broker.mode !== 'standalone') {
        ctx.addIssue({
          code: 'custom',
          path: ['roles', name, 'topics'],
          message: 'arbitrary topic grants are only allowed in standalone broker mode',
        });
      }
    }
  });

export type ApplianceConfig = z.infer<typeof configSchema>;
export type ApplianceConfigInput = z.input<typeof configSchema>;

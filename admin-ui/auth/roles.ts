// Operator roles of the admin UI (X-Road style separation of duties).
export const UI_ROLES = {
  admin: 'system administrator', // システム管理者
  security: 'security officer', // セキュリティ管理者: keys, certificates, trust anchors
  auditor: 'auditor', // 監査者: audit log, read-only
  monitor: 'monitor', // 監視者: read-only
} as const;
export type UiRole = keyof typeof UI_ROLES;
export const isUiRole = (r: string): r is UiRole => Object.hasOwn(UI_ROLES, r);

export type Permission =
  | 'view' // dashboard, systems, links, queues (read)
  | 'config.change' // edit/apply/rollback/import configuration, systems, links
  | 'config.backup' // export a signed backup
  | 'queues.change' // retry, purge dead letters
  | 'register.import' // load a register extract into the identity store (juki-gw import)
  | 'consistency.run'
  | 'keys.view'
  | 'keys.change'
  | 'dataKeys.rotate' // re-encrypt personal data at rest under a new data key (a change to every store)
  | 'audit.view'
  | 'accounts.manage';

const GRANTS: Record<UiRole, ReadonlySet<Permission>> = {
  admin: new Set<Permission>([
    'view',
    'config.change',
    'config.backup',
    'queues.change',
    'register.import',
    'consistency.run',
    'keys.view',
    'dataKeys.rotate',
    'audit.view',
    'accounts.manage',
  ]),
  security: new Set<Permission>(['view', 'keys.view', 'keys.change', 'audit.view']),
  auditor: new Set<Permission>(['view', 'audit.view']),
  monitor: new Set<Permission>(['view']),
};

export function can(role: string, p: Permission): boolean {
  return isUiRole(role) && GRANTS[role].has(p);
}

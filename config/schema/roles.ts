import type { RoleConfig } from './broker.js';

/** Default role → message types (CONTRACT.md "Message types"). Configurable per installation. */
export const DEFAULT_ROLES: Record<string, RoleConfig> = {
  'resident-register': { send: ['identity.update', 'moveout.cert.store', 'movein.notice', 'card.delivery', 'card.event'] },
  terminal: { send: ['identity.verify', 'moveout.cert.request', 'card.continue', 'identity.search', 'jlis.inquiry', 'card.event'] },
  'number-linkage': { send: ['code.request', 'addressee.update', 'serial.request', 'copy.update', 'info.query'] },
  business: { send: [] },
  monitor: { send: [] },
};

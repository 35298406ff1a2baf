import type { ApplianceConfigInput } from './schema/index.js';

/**
 * Embedded default: runs with no file. Tsu City (242012) as the served municipality, a loopback-only
 * plain listener for development, example local systems, and simulated upstreams (no upstreams set).
 * `dataDir` (e.g. from JUKIGW_dataDir) also holds the development passwords.
 */
export function embeddedDefault(dataDir = './data'): ApplianceConfigInput {
  const devPassword = (id: string) => ({ file: `${dataDir.replace(/\/+$/, '')}/dev-passwords/${id}` });
  return {
    municipalities: ['242012'],
    dataDir,
    listeners: [
      { name: 'local-dev', type: 'plain', host: '127.0.0.1', port: 1883, segment: 'local' },
      // The number-linkage segment (番号連携サーバ) always has its own listener (GW role).
      { name: 'linkage-dev', type: 'plain', host: '127.0.0.1', port: 1884, segment: 'number-linkage' },
    ],
    // Development passwords for the loopback listener: generated at first start into the data dir
    // (config/devPasswords.ts), never in this file.
    systems: [
      { id: 'rr-01', role: 'resident-register', description: '住民基本台帳システム (example)', password: devPassword('rr-01') },
      { id: 'term-01', role: 'terminal', description: '統合端末 (example)', password: devPassword('term-01') },
      { id: 'nl-01', role: 'number-linkage', description: '番号連携サーバ (example)', password: devPassword('nl-01') },
      { id: 'mon-01', role: 'monitor', description: 'monitoring (example)', password: devPassword('mon-01') },
    ],
  };
}

import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    // test/broker/node/ holds node:test suites (npm run test:node), which vitest cannot run
    exclude: ['node_modules/**', 'dist/**', 'data/**', 'test/broker/node/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // 2 cores: integration suites start brokers, Mosquitto and SoftHSM; keep the pool small.
    pool: 'forks',
    maxWorkers: 2,
  },
});

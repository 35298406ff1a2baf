import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'dist/**', 'data/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // 2 cores: integration suites start brokers, Mosquitto and SoftHSM; keep the pool small.
    pool: 'forks',
    maxWorkers: 2,
  },
});

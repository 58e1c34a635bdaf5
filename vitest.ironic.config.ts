import { defineConfig } from 'vitest/config';

// The real-Ironic suite: starts Debian's python3-ironic on loopback (scripts/ironic-standalone.sh).
export default defineConfig({
  test: {
    include: ['test/ironic-real/**/*.test.ts'],
    globalSetup: ['test/ironic-real/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    fileParallelism: false,
    pool: 'forks',
  },
});

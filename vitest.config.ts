import { defineConfig } from 'vitest/config';

// The default suite: unit tests, machines, store, and everything that runs on the
// simulator. The real-Ironic and real-Keystone suites have their own configs
// (vitest.ironic.config.ts, vitest.keystone.config.ts), and so has the browser suite
// (vitest.browser.config.ts: chromium).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: [
      'test/ironic-real/**',
      'test/keystone-real/**',
      'test/browser/**',
      'node_modules/**',
      'dist/**',
    ],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
});

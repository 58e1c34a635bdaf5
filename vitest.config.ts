import { defineConfig } from 'vitest/config';

// The default suite: unit tests, machines, store, and everything that runs on the
// simulator. The real-Ironic and real-Keystone suites have their own configs
// (vitest.ironic.config.ts, vitest.keystone.config.ts), and so have the package
// test (vitest.pack.config.ts: npm pack and install) and the browser suite
// (vitest.browser.config.ts: chromium).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: [
      'test/ironic-real/**',
      'test/keystone-real/**',
      'test/pack/**',
      'test/browser/**',
      'test/pg/**',
      'node_modules/**',
      'dist/**',
    ],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
});

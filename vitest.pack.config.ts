import { defineConfig } from 'vitest/config';

// The package as people install it: npm pack, npm install of the tarball into a fresh project
// (which compiles better-sqlite3: minutes), then the CLI with npx and the library with tsc.
export default defineConfig({
  test: {
    include: ['test/pack/**/*.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 20 * 60_000,
    pool: 'forks',
  },
});

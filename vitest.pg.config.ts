import { defineConfig } from 'vitest/config';

// The PostgreSQL suites (npm run test:pg starts a server and sets PG_URL): the store behaviour
// suite on both backends, and the engine and CLI on a PostgreSQL store.
export default defineConfig({
  test: {
    include: ['test/pg/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});

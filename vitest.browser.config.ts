import { defineConfig } from 'vitest/config';

// The browser suite: `show --html` pages opened in Debian's chromium through playwright-core.
// Outside CI a missing /usr/bin/chromium skips it with one line; with CI=true it fails.
export default defineConfig({
  test: {
    include: ['test/browser/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: false,
    pool: 'forks',
  },
});

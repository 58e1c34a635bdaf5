import { defineConfig } from 'vitest/config';

// The real-Keystone suite: Debian's python3-keystone in front of python3-ironic on loopback
// (scripts/keystone-standalone.sh). Files run one at a time: one stops Keystone for a while.
export default defineConfig({
  test: {
    include: ['test/keystone-real/**/*.test.ts'],
    globalSetup: ['test/keystone-real/global-setup.ts'],
    testTimeout: 180_000,
    hookTimeout: 240_000,
    fileParallelism: false,
    pool: 'forks',
  },
});

import { defineConfig } from 'vitest/config';

// Publishing and installing every package takes minutes on two busy cores: generous timeouts guard
// against hangs only (speed is not asserted).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 600_000,
    hookTimeout: 900_000,
  },
});

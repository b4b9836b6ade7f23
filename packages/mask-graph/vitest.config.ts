import { defineConfig } from 'vitest/config';

// Generous timeouts: these guard against hangs, not speed (speed is measured by `npm run bench`).
// Nx runs several packages' tests at once on two cores, so a few-second test can take far longer.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});

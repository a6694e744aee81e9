import { defineConfig } from 'vitest/config';

// `npm run bench`: the client-side measurements (bench/), against the real server.
export default defineConfig({
  test: {
    include: ['bench/**/*.test.ts'],
    globalSetup: ['./test/global-setup.ts'],
    testTimeout: 300_000,
    hookTimeout: 120_000,
  },
});

import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Real servers, LMDB files, workers and OCR: generous but bounded.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: files run in forks, two at a time, so heavy OCR tests don't starve each other.
    pool: 'forks',
    maxWorkers: 2,
    allowOnly: false,
    reporters: process.env.CI ? ['default', ['json', { outputFile: '.vitest-report.json' }]] : ['default'],
  },
});

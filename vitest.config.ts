import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // onnxruntime-node and DuckDB are native; forks isolate them better than threads.
    pool: 'forks',
  },
});

import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    // expect.poll waits for a value the UI (or a server) is still producing; 1 s (the default) flakes on a
    // loaded 2-core machine, where a React commit or a child process can lag by seconds.
    expect: { poll: { timeout: 15_000 } },
    // tfjs-wasm and PyTorch reference runs are CPU-heavy: the 2-core machine runs test files one at a time.
    fileParallelism: false,
    reporters: ['default', './test/summary-reporter.ts'],
  },
});

import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

/**
 * Electron's binary: its npm package downloads it at install time and exports the executable's path; where
 * the download was impossible (the build box) the package is absent or throws. The real-window tests
 * (test/**\/*.electron.ts) are listed only where it exists, so they are never reported as skipped. With
 * REID_STUDIO_EXECUTABLE (a packaged app's executable, `npm run test:electron`) the release smoke test is
 * listed, and runs against that app.
 */
function electronBinary(): string | null {
  try {
    const p = createRequire(import.meta.url)('electron') as unknown;
    return typeof p === 'string' ? p : null;
  } catch {
    return null;
  }
}

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', ...(process.env.REID_STUDIO_EXECUTABLE ? ['test/electron/smoke.electron.ts'] : electronBinary() ? ['test/**/*.electron.ts'] : [])],
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

// `npm run test:electron`: the real-window tests, which need Electron's binary.
//   without REID_STUDIO_EXECUTABLE: test/electron/*.electron.ts on node_modules' Electron running app/
//   REID_STUDIO_EXECUTABLE=<packaged app's executable>: the release smoke test (test/electron/smoke.electron.ts)
//                         against that app, as the release workflow runs it on each OS
//   REID_STUDIO_SMOKE_OUT=<dir>: where the smoke test writes its screenshots and metrics.json
// Extra arguments go to vitest. On Linux without a display, run it under `xvfb-run -a`.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

/** Electron's npm package exports its executable's path once its install script downloaded the binary. */
function electronBinary() {
  try {
    const p = createRequire(import.meta.url)('electron');
    return typeof p === 'string' && existsSync(p) ? p : null;
  } catch {
    return null;
  }
}

const packaged = process.env.REID_STUDIO_EXECUTABLE;
if (packaged && !existsSync(packaged)) {
  console.error(`reid-studio test:electron: REID_STUDIO_EXECUTABLE=${packaged} does not exist`);
  process.exit(2);
}
if (!packaged && !electronBinary()) {
  console.error(
    "reid-studio test:electron: Electron's binary is not installed here (its npm package downloads it at install\n" +
      'time, and that download did not happen: no internet access to its release host, or ELECTRON_SKIP_BINARY_DOWNLOAD).\n' +
      'On a machine with internet access: npm install && npm run test:electron\n' +
      'Against an installed or unpacked app: REID_STUDIO_EXECUTABLE=/path/to/executable npm run test:electron',
  );
  process.exit(2);
}
if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY)
  console.error('reid-studio test:electron: no display (DISPLAY is unset); on a server run it as: xvfb-run -a npm run test:electron');
const files = packaged ? ['test/electron/smoke.electron.ts'] : ['.electron.ts'];
const r = spawnSync(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', ...files, ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(r.status ?? 1);

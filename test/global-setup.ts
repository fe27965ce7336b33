import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Builds the bundles once so CLI tests exercise exactly what `npx reid-studio` runs, and gives the run one
 * temporary root: TMPDIR points at a fresh folder that the test workers, the CLIs they spawn and the PyTorch
 * reference scripts inherit (os.tmpdir(), Python's tempfile), removed when the run ends. Test files that make
 * run folders (hundreds of MB each) no longer leave them behind in the machine's /tmp.
 */
export default function setup(): () => void {
  execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
  const root = mkdtempSync(join(tmpdir(), 'reid-studio-tests-'));
  const before = process.env.TMPDIR;
  process.env.TMPDIR = root;
  return () => {
    if (before === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = before;
    rmSync(root, { recursive: true, force: true });
  };
}

/**
 * `--input HxW` on fast-reid's MGN recipe preset (issue #24): it sets INPUT.SIZE_TRAIN / SIZE_TEST as a
 * fast-reid config would, and a size is refused, with the reason, exactly when fast-reid's MGN cannot run it:
 * when torch.chunk cannot cut the layer4 map into MGN's 2 and 3 stripes (mgn.py unpacks them). The reference
 * is PyTorch (mgn_input_ref.py: fast-reid's strided trunk layers on each size, then torch.chunk); the other
 * fast-reid recipe presets still take their recipe's size (test/cli/summary.test.ts).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const BIN = new URL('../../bin/reid-studio.js', import.meta.url).pathname;
const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
const SIZES = ['16x16', '32x16', '48x16', '64x32', '80x32', '96x32', '112x48', '128x64', '384x128'];

describe('--input on the MGN recipe preset', () => {
  it('accepted exactly where PyTorch can cut the layer4 map into 2 and 3 stripes; refused with the reason otherwise', () => {
    const py = spawnSync('/usr/bin/python3', [fileURLToPath(new URL('./mgn_input_ref.py', import.meta.url)), ...SIZES], { encoding: 'utf8' });
    expect(py.status, py.stderr).toBe(0);
    const ref = JSON.parse(py.stdout) as Record<string, [number, boolean]>;
    // Both outcomes are exercised (64×32: a 4-row map gives torch.chunk only 2 chunks of 2 rows for 3 parts).
    expect(ref['64x32']).toEqual([4, false]);
    expect(ref['80x32']).toEqual([5, true]);
    for (const size of SIZES) {
      const [rows, works] = ref[size]!;
      const r = cli('summary', '--preset', 'fastreid_mgn_R50-ibn', '--input', size, '--json');
      if (works) {
        expect(r.status, `${size}: ${r.stderr}`).toBe(0);
        const s = JSON.parse(r.stdout);
        expect(s.inputShape, size).toEqual([...size.split('x').map(Number), 3]);
        expect(s.featureDim).toBe(8 * 256);
      } else {
        expect(r.status, size).toBe(2);
        expect(r.stderr).toMatch(new RegExp(`^reid-studio: error: --input ${size} does not fit fastreid_mgn_R50-ibn: b[23]_part\\.\\d: torch\\.chunk of ${rows} ${rows === 1 ? 'row' : 'rows'} into [23] parts has no part \\d .*use a taller input\\n$`));
      }
    }
  });

  it('train refuses a size MGN cannot cut in one line, before making a run folder', () => {
    const r = cli('train', '--preset', 'fastreid_mgn_R50-ibn', '--input', '64x32', '--demo', '--demo-size', 'tiny', '--out', '/nonexistent/never-made');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^reid-studio: error: --input 64x32 does not fit fastreid_mgn_R50-ibn: b3_part\.2: torch\.chunk of 4 rows into 3 parts has no part 2 \(chunks of 2 rows\); use a taller input\n$/);
    // Another fast-reid recipe preset keeps its recipe's size.
    expect(cli('train', '--preset', 'fastreid_sbs_R50-ibn', '--input', '96x32', '--demo').stderr).toMatch(/--input does not apply to the fast-reid recipe preset fastreid_sbs_R50-ibn/);
  });
});

// Renders assets/icon.svg (the single source) to the PNG sizes electron-builder uses:
// assets/icons/<N>x<N>.png for Linux and assets/icon.png (1024) from which it derives .ico / .icns.
import sharp from 'sharp';
import { mkdirSync, renameSync } from 'node:fs';

const SIZES = [16, 24, 32, 48, 64, 128, 256, 512, 1024];
mkdirSync('assets/icons', { recursive: true });
for (const size of SIZES) {
  const tmp = `assets/icons/.${size}.png.tmp`;
  await sharp('assets/icon.svg', { density: Math.max(72, (72 * size) / 1024 * 4) }).resize(size, size).png().toFile(tmp);
  renameSync(tmp, `assets/icons/${size}x${size}.png`);
}
await sharp('assets/icon.svg').resize(1024, 1024).png().toFile('assets/.icon.png.tmp');
renameSync('assets/.icon.png.tmp', 'assets/icon.png');
console.log(`icons: ${SIZES.join(', ')} px and assets/icon.png`);

// electron-builder.yml as `npm run dist` (scripts/dist.mjs) hands it to electron-builder, with the variants
// its flags ask for. Tested against electron-builder's own schema in test/packaging/.
import { readFileSync } from 'node:fs';
import YAML from 'yaml';

/**
 * @param {{ standIn?: boolean, unsigned?: boolean }} options
 *   standIn: the Electron is a stand-in without a fuse wire, so no fuses are flipped;
 *   unsigned: no signing identity, so macOS builds are signed ad hoc ("-"), without the hardened runtime
 *   (library validation refuses ad-hoc-signed frameworks under it) and without notarisation.
 */
export function builderConfig(options = {}, text = readFileSync(new URL('../electron-builder.yml', import.meta.url), 'utf8')) {
  const doc = YAML.parse(text);
  if (options.standIn) delete doc.electronFuses;
  if (options.unsigned) doc.mac = { ...doc.mac, identity: '-', hardenedRuntime: false, notarize: false };
  return doc;
}

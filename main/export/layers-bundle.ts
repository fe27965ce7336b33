/**
 * The text of `reid-studio-layers.js` (CommonJS) and `reid-studio-layers.mjs` (ES module). The app's build
 * (scripts/build.mjs → main/export/build-layers.mjs) writes them next to the CLI bundle in app/dist; when
 * running from the TypeScript sources (tests, development) the same bundle is made on the fly with esbuild.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { ExportError } from './errors.js';

export const LAYERS_FILE = 'reid-studio-layers';

export interface LayersBundle {
  cjs: string;
  esm: string;
}

let cached: LayersBundle | undefined;

async function buildFromSources(): Promise<LayersBundle> {
  // Non-literal specifiers: bundlers must leave these development-only imports alone.
  const names = ['esbuild', new URL('./build-layers.mjs', import.meta.url).href];
  try {
    const esbuild: unknown = await import(names[0]!);
    const { buildLayers } = (await import(names[1]!)) as { buildLayers: (esbuild: unknown) => Promise<LayersBundle> };
    return await buildLayers(esbuild);
  } catch (e) {
    throw new ExportError(`cannot bundle ${LAYERS_FILE}.js from the sources: ${(e as Error).message}`);
  }
}

export async function layersBundle(): Promise<LayersBundle> {
  if (cached) return cached;
  if (import.meta.url.endsWith('.ts')) cached = await buildFromSources();
  else {
    // Bundled app: the prebuilt files sit next to this bundle (app/dist).
    try {
      cached = {
        cjs: await readFile(fileURLToPath(new URL(`./${LAYERS_FILE}.cjs`, import.meta.url)), 'utf8'),
        esm: await readFile(fileURLToPath(new URL(`./${LAYERS_FILE}.mjs`, import.meta.url)), 'utf8'),
      };
    } catch (e) {
      throw new ExportError(`the app's ${LAYERS_FILE} bundle is missing (${(e as Error).message}); rebuild with "node scripts/build.mjs"`);
    }
  }
  return cached;
}

// Bundles main/export/layers-entry.ts into the standalone custom-layer files shipped with a `tfjs` export:
// `reid-studio-layers.cjs` (CommonJS; exported as reid-studio-layers.js) and `reid-studio-layers.mjs`.
// @tensorflow/tfjs stays external (the user's own tfjs must receive the registrations). Used by
// scripts/build.mjs (into app/dist) and, when running from the TypeScript sources, by layers-bundle.ts.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** Maps the layers' `core/index.js` import to layers-core.ts (only what they use). */
const slimCore = {
  name: 'reid-slim-core',
  setup(build) {
    build.onResolve({ filter: /core\/index\.js$/ }, (args) => {
      if (!resolve(args.resolveDir).startsWith(resolve(here, '../tfjs/layers'))) return undefined;
      return { path: join(here, 'layers-core.ts') };
    });
  },
};

/** Returns { cjs, esm } texts; with `outDir`, also writes them there. */
export async function buildLayers(esbuild, outDir) {
  const one = async (format) => {
    const r = await esbuild.build({
      entryPoints: [join(here, 'layers-entry.ts')],
      bundle: true,
      platform: 'node',
      target: 'node18',
      format,
      external: ['@tensorflow/tfjs'],
      plugins: [slimCore],
      legalComments: 'none',
      logLevel: 'warning',
      write: false,
    });
    return r.outputFiles[0].text;
  };
  const out = { cjs: await one('cjs'), esm: await one('esm') };
  if (outDir) {
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(outDir, 'reid-studio-layers.cjs'), out.cjs);
    await writeFile(join(outDir, 'reid-studio-layers.mjs'), out.esm);
  }
  return out;
}

#!/usr/bin/env node
// Entry point of the `reid-studio` command. The CLI is bundled to app/dist/cli.js by `npm run build`
// (run automatically by `npm install` / `npm ci` through the `prepare` script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const bundle = fileURLToPath(new URL('../app/dist/cli.js', import.meta.url));
if (!existsSync(bundle)) {
  process.stderr.write('reid-studio: error: the app is not built yet; run "npm run build" in the project folder\n');
  process.exit(2);
}
// `main` exits only after stdout / stderr drained: JSON piped into another program is never cut.
const { main } = await import(bundle);
await main(process.argv.slice(2));

// Runs @doyensec/electronegativity over the Electron shell (main/hosts/electron) and fails on any high or
// medium finding that is not explained in scripts/electronegativity-explained.json. Uses the package's
// runner directly: its CLI relies on an undeclared `commander` major that npm does not hoist here.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

const require = createRequire(import.meta.url);
const quiet = console.log;
console.log = () => undefined; // the runner prints a banner and progress bars
// The package's own i18n setup also fetches updated translations from the web; configure its bundled
// en-US strings directly instead, so the check makes no network request. For the same reason the
// AVAILABLE_SECURITY_FIXES check (which downloads Electron's release list) is left out: Electron is pinned
// in package.json and upgraded deliberately.
const pkgRequire = createRequire(require.resolve('@doyensec/electronegativity/package.json'));
const i18n = pkgRequire('i18n');
i18n.configure({ locales: ['en-US'], defaultLocale: 'en-US', directory: dirname(pkgRequire.resolve('./dist/locales/i18n.js')), updateFiles: false, objectNotation: true, retryInDefaultLocale: true, register: globalThis });
i18n.setLocale('en-US');
const run = require('@doyensec/electronegativity/dist/runner.js');
const electronVersion = JSON.parse(readFileSync('package.json', 'utf8')).optionalDependencies.electron;
let result;
try {
  result = await run({ input: resolve('main/hosts/electron'), output: undefined, isSarif: false, customScan: [], excludeFromScan: ['availablesecurityfixesglobalcheck'], severitySet: undefined, confidenceSet: undefined, isRelative: true, isVerbose: false, electronUpgrade: undefined, electronVersionOverride: electronVersion, parserPlugins: [] }, false);
} finally {
  console.log = quiet;
}
const explained = JSON.parse(readFileSync('scripts/electronegativity-explained.json', 'utf8'));
if (result.errors?.length) for (const e of result.errors) console.log(`parse error: ${e.file ?? ''} ${e.message ?? e.error ?? ''}`);
const findings = result.issues.map((i) => ({ issue: i.id, fileName: i.file, location: `${i.location.line}:${i.location.column}`, severity: String(i.severity.name ?? i.severity).toUpperCase(), manualReview: i.manualReview, description: i.description }));
const serious = findings.filter((f) => f.severity === 'HIGH' || f.severity === 'MEDIUM');
const unexplained = serious.filter((f) => !explained[f.issue]);
for (const f of serious) console.log(`${f.severity.padEnd(6)} ${f.issue} ${f.fileName}:${f.location}${explained[f.issue] ? `  — explained: ${explained[f.issue]}` : '  — UNEXPLAINED'}`);
console.log(`electronegativity: ${findings.length} finding(s), ${serious.length} high/medium, ${unexplained.length} unexplained`);
process.exit(unexplained.length ? 1 : 0);

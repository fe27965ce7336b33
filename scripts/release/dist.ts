// `npm run dist` for a release build, signed as far as the repository's secrets allow. The secrets come in
// as environment variables of this one workflow step; electron-builder gets its own variables only for those
// present (it takes an empty CSC_LINK for a certificate), and each signing that cannot happen is skipped with
// a visible notice (`::notice::`). README, "Packaging", says what each OS asks on first launch when unsigned.
//   npx tsx scripts/release/dist.ts linux|win|mac [scripts/dist.mjs arguments...]
//
// Secrets (all optional):
//   MAC_CSC_LINK, MAC_CSC_KEY_PASSWORD       Developer ID Application certificate (.p12, base64) and its password
//   APPLE_ID, APPLE_APP_SPECIFIC_PASSWORD, APPLE_TEAM_ID   notarisation (needs the certificate)
//   WIN_CSC_LINK, WIN_CSC_KEY_PASSWORD       Authenticode certificate (.pfx, base64) and its password
import { spawnSync } from 'node:child_process';
import { annotate, isMain, ROOT } from './common.js';

export type ReleaseOs = 'linux' | 'win' | 'mac';

export interface SigningPlan {
  /** Variables electron-builder reads (CSC_LINK, …), for the dist step only. */
  env: Record<string, string>;
  /** Flags for scripts/dist.mjs. */
  distFlags: string[];
  /** What is skipped and why: one `::notice::` each. */
  notices: string[];
}

const has = (env: NodeJS.ProcessEnv, ...names: string[]) => names.every((n) => !!env[n]?.trim());
const missing = (env: NodeJS.ProcessEnv, ...names: string[]) => names.filter((n) => !env[n]?.trim());

/** The plan for one OS from the secrets present in `env` (an empty secret counts as absent). */
export function signingPlan(os: ReleaseOs, env: NodeJS.ProcessEnv): SigningPlan {
  const plan: SigningPlan = { env: {}, distFlags: [], notices: [] };
  if (os === 'mac') {
    const cert = ['MAC_CSC_LINK', 'MAC_CSC_KEY_PASSWORD'];
    const notary = ['APPLE_ID', 'APPLE_APP_SPECIFIC_PASSWORD', 'APPLE_TEAM_ID'];
    if (!has(env, ...cert)) {
      plan.distFlags.push('--unsigned');
      plan.env.CSC_IDENTITY_AUTO_DISCOVERY = 'false';
      plan.notices.push(`macOS code signing skipped: secret(s) ${missing(env, ...cert).join(', ')} not set. The app is signed ad hoc and not notarised; Gatekeeper asks on first launch (README, Packaging).`);
      return plan;
    }
    plan.env.CSC_LINK = env.MAC_CSC_LINK!;
    plan.env.CSC_KEY_PASSWORD = env.MAC_CSC_KEY_PASSWORD!;
    if (has(env, ...notary)) for (const n of notary) plan.env[n] = env[n]!;
    else plan.notices.push(`macOS notarisation skipped: secret(s) ${missing(env, ...notary).join(', ')} not set. The app is signed but not notarised; Gatekeeper asks on first launch.`);
    return plan;
  }
  if (os === 'win') {
    const cert = ['WIN_CSC_LINK', 'WIN_CSC_KEY_PASSWORD'];
    if (has(env, ...cert)) for (const n of cert) plan.env[n] = env[n]!;
    else {
      plan.env.CSC_IDENTITY_AUTO_DISCOVERY = 'false';
      plan.notices.push(`Windows code signing skipped: secret(s) ${missing(env, ...cert).join(', ')} not set. The installer is unsigned; SmartScreen warns on first launch (README, Packaging).`);
    }
    return plan;
  }
  plan.notices.push('Linux: AppImage and deb are not signed (no signing step exists for them here); SHA256SUMS lists their checksums.');
  return plan;
}

/** The secrets' names and electron-builder's signing variables: none reaches electron-builder unless the plan sets it. */
export const SIGNING_VARIABLES = ['MAC_CSC_LINK', 'MAC_CSC_KEY_PASSWORD', 'WIN_CSC_LINK', 'WIN_CSC_KEY_PASSWORD', 'CSC_LINK', 'CSC_KEY_PASSWORD', 'CSC_NAME', 'APPLE_ID', 'APPLE_APP_SPECIFIC_PASSWORD', 'APPLE_TEAM_ID', 'APPLE_API_KEY', 'APPLE_API_KEY_ID', 'APPLE_API_ISSUER', 'CSC_IDENTITY_AUTO_DISCOVERY'];

/** The environment of the dist process: this one without any signing variable, plus the plan's. */
export function distEnv(env: NodeJS.ProcessEnv, plan: SigningPlan): NodeJS.ProcessEnv {
  const out = { ...env };
  for (const n of SIGNING_VARIABLES) delete out[n];
  return { ...out, ...plan.env };
}

if (isMain(import.meta.url)) {
  const [os, ...distArgs] = process.argv.slice(2) as [ReleaseOs, ...string[]];
  if (!['linux', 'win', 'mac'].includes(os)) {
    console.error('usage: npx tsx scripts/release/dist.ts linux|win|mac [scripts/dist.mjs arguments...]');
    process.exit(2);
  }
  const plan = signingPlan(os, process.env);
  for (const n of plan.notices) annotate('notice', n);
  const args = ['scripts/dist.mjs', ...distArgs, ...plan.distFlags];
  console.log(`${os}: signing with ${Object.keys(plan.env).filter((k) => k !== 'CSC_IDENTITY_AUTO_DISCOVERY').join(', ') || 'nothing'}; node ${args.join(' ')}`);
  const r = spawnSync(process.execPath, args, { stdio: 'inherit', cwd: ROOT, env: distEnv(process.env, plan) });
  process.exit(r.status ?? 1);
}

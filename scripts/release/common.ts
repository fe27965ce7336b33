// Helpers of the release scripts (run with tsx by .github/workflows/release.yml, imported by their tests).
import { appendFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The repository root. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** True when the module at `url` is the script node / tsx was started with (not imported by a test). */
export function isMain(url: string): boolean {
  return !!process.argv[1] && url === pathToFileURL(process.argv[1]).href;
}

/**
 * A GitHub Actions workflow command (`::notice::`, `::error::`) on stdout when running in Actions, else a
 * plain line on stderr. Newlines in the message are escaped as the runner expects (%0A).
 */
export function annotate(level: 'notice' | 'warning' | 'error', message: string, env: NodeJS.ProcessEnv = process.env): string {
  const line = env.GITHUB_ACTIONS === 'true' ? `::${level}::${message.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A')}` : `${level}: ${message}`;
  if (env.GITHUB_ACTIONS === 'true') console.log(line);
  else console.error(line);
  return line;
}

/** Appends Markdown to the job's summary page when running in Actions. */
export function summary(markdown: string, env: NodeJS.ProcessEnv = process.env): void {
  if (env.GITHUB_STEP_SUMMARY) appendFileSync(env.GITHUB_STEP_SUMMARY, `${markdown}\n`);
}

/** The file types the release ships (electron-builder.yml's targets): AppImage, deb, NSIS exe, dmg, zip. */
export const INSTALLER_EXTENSIONS = ['.AppImage', '.deb', '.exe', '.dmg', '.zip'] as const;

/** Installers directly inside `dir` (electron-builder also writes unpacked folders, blockmaps and YAML there). */
export function installerFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => INSTALLER_EXTENSIONS.some((e) => f.endsWith(e)) && statSync(join(dir, f)).isFile())
    .sort()
    .map((f) => join(dir, f));
}

import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Where the app keeps its own state (recent files, autosave). REID_STUDIO_HOME overrides it so tests
 * and scripts never touch the user's real state; otherwise the XDG config dir (Linux) or its platform
 * equivalents.
 */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.REID_STUDIO_HOME) return env.REID_STUDIO_HOME;
  if (process.platform === 'win32') return join(env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), 'ReID Studio');
  if (process.platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'ReID Studio');
  return join(env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'reid-studio');
}

/** Default folder offered by the save / open dialogs. */
export function defaultDocumentsDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.REID_STUDIO_DOCUMENTS ?? homedir();
}

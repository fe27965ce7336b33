import { api } from '../api/client.js';

/**
 * The host's native dialogs. The desktop host shows the system dialog (the only way its renderer gets
 * file paths); browser mode answers `native: false` and the caller shows its own folder browser.
 */
export async function nativeOpen(kind: 'document' | 'weights' | 'folder'): Promise<{ native: boolean; path: string | null }> {
  try {
    return await api.call('dialog.open', { kind });
  } catch {
    return { native: false, path: null };
  }
}

export async function nativeSave(suggestedName?: string): Promise<{ native: boolean; path: string | null }> {
  try {
    return await api.call('dialog.save', suggestedName ? { suggestedName } : {});
  } catch {
    return { native: false, path: null };
  }
}

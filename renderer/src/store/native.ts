import { api } from '../api/client.js';

/**
 * The host's native dialogs. The desktop host shows the system dialog (the only way its renderer gets
 * file paths); browser mode answers `native: false` and the caller shows its own folder browser.
 */
export async function nativeOpen(kind: 'document' | 'weights' | 'folder' | 'config'): Promise<{ native: boolean; path: string | null }> {
  try {
    return await api.call('dialog.open', { kind });
  } catch {
    return { native: false, path: null };
  }
}

export async function nativeSave(suggestedName?: string, kind?: 'document' | 'export'): Promise<{ native: boolean; path: string | null }> {
  try {
    return await api.call('dialog.save', { ...(suggestedName ? { suggestedName } : {}), ...(kind ? { kind } : {}) });
  } catch {
    return { native: false, path: null };
  }
}

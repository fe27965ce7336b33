import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../../io/files.js';

const stateSchema = z.object({
  x: z.number().int(),
  y: z.number().int(),
  width: z.number().int().min(400).max(20000),
  height: z.number().int().min(300).max(20000),
  maximized: z.boolean(),
});
export type WindowState = z.infer<typeof stateSchema>;

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export const DEFAULT_STATE: Omit<WindowState, 'x' | 'y'> = { width: 1440, height: 900, maximized: false };

/** Saved bounds, if they still intersect a connected display by a usable margin; else null (centre a default window). */
export function restoreWindowState(dataDir: string, displays: Rect[]): WindowState | null {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(join(dataDir, 'window-state.json'), 'utf8'));
  } catch {
    return null;
  }
  const s = stateSchema.safeParse(raw);
  if (!s.success) return null;
  const visible = displays.some((d) => {
    const w = Math.min(s.data.x + s.data.width, d.x + d.width) - Math.max(s.data.x, d.x);
    const h = Math.min(s.data.y + s.data.height, d.y + d.height) - Math.max(s.data.y, d.y);
    return w >= 100 && h >= 50;
  });
  return visible ? s.data : null;
}

export async function saveWindowState(dataDir: string, state: WindowState): Promise<void> {
  await writeFileAtomic(join(dataDir, 'window-state.json'), JSON.stringify(state) + '\n');
}

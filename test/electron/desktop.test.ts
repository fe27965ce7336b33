/**
 * The desktop shell's pure decisions (main/hosts/electron/desktop.ts), tested without the Electron binary
 * (not installable here): the menu leaves text-editing keys to the page, Reveal opens the runs folder,
 * documents are saved as the registered `.reidgraph`, the unsaved-changes prompt, the window background
 * matches the page's own theme colours, and About is reachable on every OS.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type MenuItemConstructorOptions, aboutOptions, closeAnyway, documentSavePath, menuTemplate, suggestedFileName, UNSAVED_PROMPT, windowBackground } from '../../main/hosts/electron/desktop.js';

function flatten(items: MenuItemConstructorOptions[]): MenuItemConstructorOptions[] {
  return items.flatMap((i) => [i, ...(i.submenu ? flatten(i.submenu) : [])]);
}

function build(isMac: boolean) {
  const calls: string[] = [];
  const template = menuTemplate(
    { isMac, isPackaged: true, recent: [{ path: '/d/a.reidgraph', name: 'a.reidgraph' }] },
    { action: (n) => () => calls.push(`action:${n}`), open: () => calls.push('open'), saveAs: () => calls.push('saveAs'), openRecent: (p) => calls.push(`recent:${p}`), revealRuns: () => calls.push('reveal'), openExternal: (u) => calls.push(`ext:${u}`) },
  );
  return { items: flatten(template), calls };
}
const click = (i: MenuItemConstructorOptions) => i.click!();

describe('desktop shell', () => {
  it('undo / redo / select all / fit view keep their shortcuts out of text fields (not registered globally)', () => {
    const { items, calls } = build(false);
    for (const label of ['Undo', 'Redo', 'Select All', 'Fit View', 'Duplicate']) {
      const item = items.find((i) => i.label === label)!;
      expect(item.accelerator, label).toBeTruthy();
      expect(item.registerAccelerator, label).toBe(false);
    }
    click(items.find((i) => i.label === 'Undo')!);
    expect(calls).toEqual(['action:undo']);
    // Clipboard items are roles: they act on text fields natively.
    expect(items.filter((i) => ['cut', 'copy', 'paste'].includes(String(i.role)))).toHaveLength(3);
  });

  it('Reveal Runs Folder and Open Recent call their handlers', () => {
    const { items, calls } = build(false);
    click(items.find((i) => i.label === 'Reveal Runs Folder')!);
    click(items.find((i) => i.label === 'a.reidgraph')!);
    expect(calls).toEqual(['reveal', 'recent:/d/a.reidgraph']);
  });

  it('About is in the menu on every OS (app menu on macOS, Help elsewhere)', () => {
    expect(build(false).items.some((i) => i.role === 'about')).toBe(true);
    expect(build(true).items.some((i) => i.role === 'appMenu')).toBe(true);
    expect(aboutOptions('1.2.3')).toMatchObject({ applicationName: 'ReID Studio', applicationVersion: '1.2.3' });
  });

  it('documents are saved as .reidgraph (the registered type, electron-builder.yml) unless named .json', () => {
    const registered = /fileAssociations:[\s\S]*?ext:\s*(\w+)/.exec(readFileSync(new URL('../../electron-builder.yml', import.meta.url), 'utf8'))![1];
    expect(registered).toBe('reidgraph');
    expect(documentSavePath('/home/u/model')).toBe(`/home/u/model.${registered}`);
    expect(documentSavePath('/home/u/model.json')).toBe('/home/u/model.json');
    expect(documentSavePath('/home/u/m.REIDGRAPH')).toBe('/home/u/m.REIDGRAPH');
    expect(suggestedFileName('resnet50_ibn_a')).toBe('resnet50_ibn_a.reidgraph');
    expect(suggestedFileName('old.json')).toBe('old.reidgraph');
    expect(suggestedFileName('a/b:c')).toBe('a_b_c.reidgraph');
    expect(suggestedFileName(undefined)).toBe('model.reidgraph');
  });

  it('the unsaved-changes prompt closes only on the explicit choice; Escape / closing the box cancels', () => {
    expect(UNSAVED_PROMPT.buttons[0]).toMatch(/Discard/);
    expect(closeAnyway(0)).toBe(true);
    expect(closeAnyway(UNSAVED_PROMPT.cancelId)).toBe(false);
    expect(UNSAVED_PROMPT.defaultId).toBe(UNSAVED_PROMPT.cancelId);
  });

  it('the window background is the page background of the OS theme (no flash of another colour)', () => {
    const css = readFileSync(new URL('../../renderer/src/styles.css', import.meta.url), 'utf8');
    const light = /:root\s*{[^}]*--bg:\s*(#[0-9a-f]{6})/i.exec(css)![1];
    const dark = /prefers-color-scheme:\s*dark[\s\S]*?--bg:\s*(#[0-9a-f]{6})/i.exec(css)![1];
    expect(windowBackground(false)).toBe(light);
    expect(windowBackground(true)).toBe(dark);
  });
});

/**
 * fast-reid's MGN in the preset gallery (issue #24; browser mode, headless Chromium): both MGN presets have a
 * card with their measured parity, the neck options (fast-reid's per-head BNNeck) are off for them, an input
 * whose layer4 map torch.chunk cannot cut into 2 and 3 stripes is refused with the reason (as
 * `--input` on the CLI: test/cli/mgn-input.test.ts holds that rule to PyTorch), and Create puts the branching
 * graph on the canvas: the three branches, the stripes and the eight heads with their losses.
 */
import { describe, expect, it } from 'vitest';
import { discardRecovery, openApp, servedBrowser } from './harness.js';

const ctx = servedBrowser();

describe('MGN in the preset gallery', () => {
  it('cards with the parity figure; a size MGN cannot cut is refused; Create builds the eight-head graph', async () => {
    const page = await openApp(ctx.browser, ctx.s.url);
    await discardRecovery(page);
    await page.getByTestId('btn-presets').click();
    await expect.poll(() => page.getByTestId('preset-gallery').isVisible()).toBe(true);
    await expect.poll(() => page.getByTestId('preset-parity-mgn_R50-ibn').textContent()).toBe('eval features 1.0e-6 · max|ref| vs fast-reid');
    expect(await page.getByTestId('preset-mgn_R50').count()).toBe(1);
    await page.getByTestId('preset-mgn_R50-ibn').click();
    expect(await page.getByTestId('preset-neck').isDisabled()).toBe(true);
    await page.getByTestId('preset-classes').fill('11');
    await page.getByTestId('preset-input').fill('64x32');
    await expect.poll(() => page.locator('.gallery-dialog .form-error').textContent()).toMatch(/torch\.chunk of 4 rows into 3 parts has no part 2/);
    expect(await page.getByTestId('preset-create').isDisabled()).toBe(true);
    await page.getByTestId('preset-input').fill('96x32');
    await expect.poll(() => page.locator('.gallery-dialog .form-error').count()).toBe(0);
    await page.getByTestId('preset-create').click();
    await expect.poll(() => page.getByTestId('preset-gallery').count()).toBe(0);
    for (const id of ['b1_conv5', 'b2_conv5', 'b3_conv5', 'b21_part', 'b33_part', 'b1_classifier', 'b33_classifier', 'loss_b33', 'pred_feat'])
      await expect.poll(() => page.getByTestId(`node-${id}`).count(), { message: id }).toBe(1);
    // The summary's classes are the eight classifiers' 11 identities, not the first linear's units (the 2048 → 256 reduction).
    await expect.poll(() => page.getByTestId('summary-classes').textContent()).toBe('11');
    await page.close();
  });
});

import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from './fixtures/test';
import { ShopPage } from './fixtures/shop';

// Run after `cargo xtask` rebuilt only the product component as a new version and changed its
// components.json entry: a reload runs the new version, and no file of the shell or of the
// other bundles was rewritten.
const dist = join(__dirname, '..', 'dist');

test('deploying the product component alone changes only its bundle and its manifest entry', async ({
  page,
}) => {
  const version = process.env.MALL_DEPLOYED_VERSION;
  const snapshotFile = process.env.MALL_DEPLOY_SNAPSHOT;
  test.skip(!version || !snapshotFile, 'needs the deploy that cargo xtask test performs');
  const before: Record<string, [number, string]> = JSON.parse(readFileSync(snapshotFile!, 'utf8'));

  // Nothing of the shell, the order and delivery bundles, or the old product version changed.
  const untouched = Object.keys(before).filter((path) => path !== 'components.json');
  for (const group of ['index.html', 'shell/', 'components/order/', 'components/delivery/', 'components/product/']) {
    expect(untouched.some((path) => path.startsWith(group)), `files under ${group}`).toBe(true);
  }
  for (const path of untouched) {
    const now = statSync(join(dist, path), { bigint: true });
    expect([Number(now.size), now.mtimeNs.toString()], path).toEqual([
      before[path][0],
      String(before[path][1]),
    ]);
  }
  const manifest = JSON.parse(readFileSync(join(dist, 'components.json'), 'utf8'));
  expect(manifest.product.version).toBe(version);
  for (const name of ['order', 'delivery']) {
    expect(Object.keys(before)).toContain(manifest[name].entry);
  }

  // The reloaded page runs the new product version next to the same shell and bundles. The
  // BFF was not restarted: the document it renders now inlines the new manifest and its
  // preload hints name the new version's module and wasm (and no longer the old one's).
  const shop = new ShopPage(page);
  await shop.signUpAndOpen();
  const hints = await page.evaluate(() =>
    [...document.querySelectorAll('link[rel="modulepreload"], link[rel="preload"]')].map(
      (link) => new URL((link as HTMLLinkElement).href).pathname,
    ),
  );
  const product = `/components/product/${version}/product_component`;
  expect(hints).toContain(`${product}.js`);
  expect(hints).toContain(`${product}_bg.wasm`);
  expect(
    hints.filter((h) => h.startsWith('/components/product/') && !h.includes(`/${version}/`)),
  ).toEqual([]);
  const inlined = await page.evaluate(
    () => JSON.parse(document.getElementById('mall-manifest')?.textContent ?? '{}').product?.version,
  );
  expect(inlined).toBe(version);
  await shop.expectReady('product');
  await expect(shop.slot('product').locator('[data-component="product"]')).toHaveAttribute(
    'data-version',
    version!,
  );
  await expect(shop.productRow('TV')).toBeVisible();
  expect(shop.requests.some((url) => url.includes(`/components/product/${version}/`))).toBe(true);
  for (const name of ['order', 'delivery']) {
    await shop.expectReady(name as 'order' | 'delivery');
    expect(shop.requests.some((url) => url.endsWith(manifest[name].entry))).toBe(true);
  }
});

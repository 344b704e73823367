import { expect, test } from './fixtures/test';
import { ShopPage } from './fixtures/shop';

// The walking skeleton: the shell reads components.json, loads the product bundle into its
// slot, and the product component lists the catalogue from the BFF's /graphql.
test('the product component lists the catalogue from the BFF, with paging', async ({ page }) => {
  const shop = new ShopPage(page);
  await shop.open();

  await shop.expectReady('product');
  await expect(shop.productRow('TV')).toBeVisible();
  await expect(shop.productRow('TV').getByTestId('product-price')).toHaveText('10000');
  const firstPage = await shop.productRows().count();
  expect(firstPage).toBeGreaterThan(0);

  const next = shop.slot('product').getByRole('button', { name: 'Next page' });
  await expect(next).toBeEnabled();
  await next.click();
  await expect(shop.slot('product').getByText(/Page 2 of \d+/)).toBeVisible();
  await expect(shop.productRow('TV')).toHaveCount(0);
  await expect(shop.productRows().first()).toBeVisible();

  expect(shop.consoleErrors).toEqual([]);
});

import { expect, test } from './fixtures/test';
import { ShopPage } from './fixtures/shop';

// Run against a mall whose BFF cannot reach the delivery service: the page still shows
// products and orders, and the delivery slot says deliveries are unavailable (not blank).
test('with the delivery service down the shop still sells and says deliveries are unavailable', async ({
  page,
}) => {
  const shop = new ShopPage(page);
  await shop.signUpAndOpen();

  await shop.expectReady('delivery');
  await expect(shop.slot('delivery').getByTestId('deliveries-unavailable')).toContainText(
    'Deliveries are unavailable',
  );

  await expect(shop.productRow('TV')).toBeVisible();
  await shop.selectProduct('TV');
  const orderId = await shop.placeOrder({ quantity: 1, name: 'Jay', address: 'Seoul' });
  await expect(shop.orderRow(orderId).getByTestId('order-status')).toHaveText('Ordered');
  await expect(shop.slot('delivery').getByTestId('deliveries-unavailable')).toBeVisible();
});

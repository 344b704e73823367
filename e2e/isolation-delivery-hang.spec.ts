import { expect, test } from './fixtures/test';
import { ShopPage } from './fixtures/shop';

// The delivery bundle never finishes loading (its request is held forever): the slot gives
// up after the load timeout and falls back, and product and order keep working end to end.
test('a delivery bundle that never loads times out alone', async ({ page }) => {
  await page.route('**/components/delivery/**', () => {
    // Never answered.
  });
  const shop = new ShopPage(page);
  await shop.signUpAndOpen('?loadTimeout=3000');

  await shop.expectFailed('delivery', /took too long/);
  shop.expectFailureLogged('delivery');

  await shop.selectProduct('CAMERA');
  const orderId = await shop.placeOrder({ quantity: 1, name: 'Kim', address: 'Busan' });
  await expect(shop.orderRow(orderId).getByTestId('order-delivery-status')).toHaveText(
    'DeliveryStarted',
  );
});

import { expect, test } from './fixtures/test';
import { productNamed } from './fixtures/mall';
import { ShopPage } from './fixtures/shop';

// The product bundle answers 404: its slot falls back, the order and delivery components keep
// working end to end, and Retry brings the product component back once the bundle is there.
test('a product bundle that answers 404 fails alone and comes back on Retry', async ({
  page,
  request,
}) => {
  const shop = new ShopPage(page);
  const gone = '**/components/product/**';
  await page.route(gone, (route) => route.fulfill({ status: 404, body: 'not found' }));
  await shop.signUpAndOpen();

  await shop.expectFailed('product', /could not be loaded/);
  shop.expectFailureLogged('product');

  // The others still work: a selection announced on the event channel (as any component
  // could) reaches the order form; the order shows in my orders and in deliveries.
  await shop.expectReady('order');
  await shop.expectReady('delivery');
  const mask = await productNamed(request, 'MASK');
  await shop.announceProduct({ productId: mask.id, name: mask.name, price: mask.price, stock: mask.stock });
  const orderId = await shop.placeOrder({ quantity: 1, name: 'Kim', address: 'Busan' });
  await expect(shop.orderRow(orderId)).toBeVisible();
  await expect(shop.deliveryRow(orderId).getByTestId('delivery-status')).toHaveText(
    'DeliveryStarted',
  );

  // The bundle is back: Retry imports a fresh instance.
  await page.unroute(gone);
  await shop.retry('product');
  await shop.expectReady('product');
  await expect(shop.productRow('MASK')).toBeVisible();
  expect(shop.requests.some((url) => /product_component\.js\?instance=1$/.test(url))).toBe(true);
});

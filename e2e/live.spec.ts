import { expect, test } from './fixtures/test';
import { placeOrder, productNamed } from './fixtures/mall';
import { ShopPage } from './fixtures/shop';

// The page follows the my-page projection over the graphql-transport-ws subscription: an
// order placed by another client (here the GraphQL API itself) shows up with its delivery,
// without a reload, while the link says it is live (so nothing is being polled).
test('an order placed elsewhere appears live in my orders and deliveries', async ({
  page,
}) => {
  const shop = new ShopPage(page);
  const sockets: string[] = [];
  page.on('websocket', (ws) => sockets.push(ws.url()));
  await shop.signUpAndOpen();
  const live = shop.slot('order').getByTestId('live-status');
  await expect(live).toHaveText('live');
  expect(sockets.some((url) => url.endsWith('/graphql/ws'))).toBe(true);

  // The same customer, through the API (the same session cookie).
  const mask = await productNamed(page.request, 'MASK');
  const orderId = await placeOrder(page.request, { productId: mask.id, quantity: 1 });

  await expect(shop.orderRow(orderId).getByTestId('order-status')).toHaveText('Ordered');
  await expect(shop.orderRow(orderId).getByTestId('order-delivery-status')).toHaveText(
    'DeliveryStarted',
  );
  await expect(shop.deliveryRow(orderId).getByTestId('delivery-status')).toHaveText(
    'DeliveryStarted',
  );
  await expect(live).toHaveText('live');
  expect(shop.consoleErrors).toEqual([]);
});

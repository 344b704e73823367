import { expect, test } from '@playwright/test';
import { placeOrder, productNamed } from './fixtures/mall';
import { ShopPage } from './fixtures/shop';

// The page follows the my-page projection over the graphql-transport-ws subscription: an
// order placed by another client (here the GraphQL API itself) shows up with its delivery,
// without a reload, while the link says it is live (so nothing is being polled).
test('an order placed elsewhere appears live in my orders and deliveries', async ({
  page,
  request,
}) => {
  const shop = new ShopPage(page);
  const sockets: string[] = [];
  page.on('websocket', (ws) => sockets.push(ws.url()));
  await shop.open();
  await shop.switchCustomer('2@uengine.org');
  const live = shop.slot('order').getByTestId('live-status');
  await expect(live).toHaveText('live');
  expect(sockets.some((url) => url.endsWith('/graphql/ws'))).toBe(true);

  const mask = await productNamed(request, 'MASK');
  const orderId = await placeOrder(request, {
    productId: mask.id,
    quantity: 1,
    customerId: '2@uengine.org',
  });

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

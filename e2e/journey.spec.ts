import { expect, test } from '@playwright/test';
import { ShopPage } from './fixtures/shop';

// The course's journey through the three components, without a reload: the components only
// talk through mall:* events and see each other's effects through the BFF.
test('order, deliver, cancel and complete, live across the three components', async ({ page }) => {
  const shop = new ShopPage(page);
  await shop.open();
  await shop.switchCustomer('1@uengine.org');

  await expect(shop.productRow('NOTEBOOK')).toBeVisible();
  const stock = await shop.stockOf('NOTEBOOK');

  await shop.selectProduct('NOTEBOOK');
  await expect(shop.slot('order').getByTestId('selected-product')).toContainText('NOTEBOOK');
  const first = await shop.placeOrder({ quantity: 2, name: 'Jay', address: 'Seoul' });

  // Without a reload: the order in my orders, its delivery started, the stock moved.
  await expect(shop.orderRow(first).getByTestId('order-status')).toHaveText('Ordered');
  await expect(shop.orderRow(first).getByTestId('order-delivery-status')).toHaveText(
    'DeliveryStarted',
  );
  await expect(shop.deliveryRow(first).getByTestId('delivery-status')).toHaveText(
    'DeliveryStarted',
  );
  await shop.expectStock('NOTEBOOK', stock - 2);

  await shop.cancelOrder(first);
  await expect(shop.orderRow(first).getByTestId('order-status')).toHaveText('Cancelled');
  await expect(shop.deliveryRow(first).getByTestId('delivery-status')).toHaveText(
    'DeliveryCancelled',
  );
  await shop.expectStock('NOTEBOOK', stock);

  const second = await shop.placeOrder({ quantity: 1, name: 'Jay', address: 'Seoul' });
  await expect(shop.deliveryRow(second).getByTestId('delivery-status')).toHaveText(
    'DeliveryStarted',
  );
  await shop.completeDeliveryOf(second);
  await expect(shop.deliveryRow(second).getByTestId('delivery-status')).toHaveText(
    'DeliveryCompleted',
  );
  await expect(shop.orderRow(second).getByTestId('order-delivery-status')).toHaveText(
    'DeliveryCompleted',
  );
  await shop.expectStock('NOTEBOOK', stock - 1);

  expect(shop.consoleErrors).toEqual([]);
});

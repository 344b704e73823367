import { expect, test } from './fixtures/test';
import { staffPage } from './fixtures/account';
import { ShopPage } from './fixtures/shop';

// The course's journey through the three components, without a reload: the components only
// talk through mall:* events and see each other's effects through the BFF. A signed-up
// customer orders and cancels; the delivery team (staff, in their own browser) completes the
// delivery, and the customer's page shows it live.
test('order, deliver, cancel and complete, live across the three components', async ({
  page,
  browser,
}) => {
  const shop = new ShopPage(page);
  const customer = await shop.signUpAndOpen();

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
  // A customer has no say over deliveries; the delivery team completes it.
  await expect(shop.slot('delivery').getByRole('button', { name: /Complete delivery/ })).toHaveCount(0);
  const staff = new ShopPage(await staffPage(browser));
  await staff.open();
  await staff.showDeliveriesOf(customer.email);
  await staff.completeDeliveryOf(second);
  await expect(staff.deliveryRow(second).getByTestId('delivery-status')).toHaveText(
    'DeliveryCompleted',
  );
  await staff.page.context().close();
  await expect(shop.deliveryRow(second).getByTestId('delivery-status')).toHaveText(
    'DeliveryCompleted',
  );
  await expect(shop.orderRow(second).getByTestId('order-delivery-status')).toHaveText(
    'DeliveryCompleted',
  );
  await shop.expectStock('NOTEBOOK', stock - 1);

  expect(shop.consoleErrors).toEqual([]);
});

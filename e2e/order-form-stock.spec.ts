import { expect, test } from './fixtures/test';
import { ShopPage } from './fixtures/shop';

// After an order, the form still shows the selected product, with the stock as it is now
// (the delivery started and took the ordered quantity), not as it was when it was selected.
test('the order form shows the live stock of the selected product after an order', async ({
  page,
}) => {
  const shop = new ShopPage(page);
  await shop.signUpAndOpen();
  await shop.expectReady('product');
  await shop.expectReady('order');
  const before = await shop.stockOf('RADIO');
  await shop.selectProduct('RADIO');
  const selected = shop.slot('order').getByTestId('selected-product');
  await expect(selected).toContainText(`stock ${before}`);

  const orderId = await shop.placeOrder({ quantity: 2, name: 'Park', address: 'Daegu' });
  await shop.expectStock('RADIO', before - 2);
  await expect(selected).toContainText(`stock ${before - 2}`);
  // Still the message of the order just placed: a refresh of figures is not a new choice.
  await expect(shop.slot('order').getByTestId('order-message')).toContainText(
    `Order ${orderId} placed`,
  );
});

import { expect, test, type Page } from './fixtures/test';
import { ShopPage } from './fixtures/shop';

/** What has the focus, looking through the components' shadow roots: its accessible name. */
async function focusedName(page: Page): Promise<string> {
  return page.evaluate(() => {
    let el: Element | null = document.activeElement;
    while (el?.shadowRoot?.activeElement) el = el.shadowRoot.activeElement;
    if (!el) return '';
    const labelled = el.getAttribute('aria-label');
    if (labelled) return labelled;
    const id = el.getAttribute('id');
    const root = el.getRootNode() as Document | ShadowRoot;
    const label = id ? root.querySelector(`label[for="${id}"]`) : null;
    return (label?.textContent ?? el.textContent ?? '').trim();
  });
}

/** Presses Tab until the element with this accessible name has the focus. */
async function tabTo(page: Page, name: string): Promise<void> {
  for (let i = 0; i < 60; i++) {
    if ((await focusedName(page)) === name) return;
    await page.keyboard.press('Tab');
  }
  throw new Error(`Tab never reached "${name}" (last: "${await focusedName(page)}")`);
}

// The shop works from the keyboard alone: through the slots' shadow roots, select a product,
// fill in the order form and place the order, then cancel it.
test('a customer orders and cancels with the keyboard alone', async ({ page }) => {
  const shop = new ShopPage(page);
  await shop.signUpAndOpen();
  await shop.expectReady('product');
  await shop.expectReady('order');
  await expect(shop.productRow('RADIO')).toBeVisible();
  // Landmarks and names a screen reader announces.
  await expect(page.getByRole('banner')).toBeVisible();
  await expect(page.getByRole('main')).toBeVisible();
  for (const name of ['Products', 'Orders', 'Deliveries']) {
    await expect(page.getByRole('region', { name }).first()).toBeVisible();
  }
  await expect(page.getByRole('navigation', { name: 'Product pages' })).toBeVisible();

  await tabTo(page, 'Select RADIO');
  await page.keyboard.press('Enter');
  await expect(shop.slot('order').getByTestId('selected-product')).toContainText('RADIO');

  await tabTo(page, 'Quantity');
  await page.keyboard.press('Control+A');
  await page.keyboard.type('1');
  await tabTo(page, 'Name');
  await page.keyboard.type('Kim');
  await tabTo(page, 'Address');
  await page.keyboard.type('Busan');
  await page.keyboard.press('Enter');

  const message = shop.slot('order').getByTestId('order-message');
  await expect(message).toContainText(/Order \d+ placed/);
  const orderId = Number(/Order (\d+) placed/.exec(await message.innerText())?.[1]);
  await expect(shop.orderRow(orderId).getByTestId('order-status')).toHaveText('Ordered');

  await tabTo(page, `Cancel order ${orderId}`);
  await page.keyboard.press('Enter');
  await expect(shop.orderRow(orderId).getByTestId('order-status')).toHaveText('Cancelled');
  expect(shop.consoleErrors).toEqual([]);
});

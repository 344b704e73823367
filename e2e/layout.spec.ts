import { expect, test, type Locator, type Page } from './fixtures/test';
import { placeOrder, productNamed } from './fixtures/mall';
import { staffAccount } from './fixtures/account';
import { ShopPage } from './fixtures/shop';

// Every row's action is in view without scrolling sideways, on a laptop (1280 px) and on a
// phone (390 px): the tables reflow instead of scrolling. Signed in as staff, who see both
// actions (Cancel on their own order, Complete as the delivery team). A screenshot of each width is kept
// for the README (e2e/screenshots/).
for (const { width, height } of [
  { width: 1280, height: 800 },
  { width: 390, height: 844 },
]) {
  test(`Cancel and Complete are in the viewport at ${width} px`, async ({ page, request }) => {
    await page.setViewportSize({ width, height });
    const shop = new ShopPage(page);
    const tv = await productNamed(request, 'TV');
    await shop.signInAndOpen(staffAccount());
    const orderId = await placeOrder(page.request, { productId: tv.id, quantity: 1 });
    // This spec is about layout: the page is opened again so the new order comes in the
    // first rows, not as a live change (live.spec.ts and sign-in.spec.ts cover those).
    await page.reload();
    for (const name of ['product', 'order', 'delivery'] as const) await shop.expectReady(name);

    const cancel = shop.slot('order').getByRole('button', { name: `Cancel order ${orderId}` });
    const row = shop.deliveryRow(orderId);
    await expect(row.getByTestId('delivery-status')).toHaveText('DeliveryStarted');
    const deliveryId = await row.getAttribute('data-delivery-id');
    const complete = shop
      .slot('delivery')
      .getByRole('button', { name: `Complete delivery ${deliveryId}` });

    // Nothing of the page is wider than the viewport.
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    expect(overflow).toBeLessThanOrEqual(0);
    for (const button of [cancel, complete]) {
      await button.scrollIntoViewIfNeeded();
      await expectHorizontallyInView(page, button, width);
    }
    await cancel.scrollIntoViewIfNeeded();
    await page.screenshot({ path: `screenshots/shop-${width}.png`, fullPage: true });
  });
}

async function expectHorizontallyInView(page: Page, button: Locator, width: number) {
  await expect(button).toBeVisible();
  const box = await button.boundingBox();
  expect(box).not.toBeNull();
  expect(box!.x).toBeGreaterThanOrEqual(0);
  expect(box!.x + box!.width).toBeLessThanOrEqual(width);
  // And not hidden inside a scrolled-away part of its own slot: the button is the element
  // the browser finds at its own centre.
  const hit = await button.evaluate((el) => {
    const r = el.getBoundingClientRect();
    const root = el.getRootNode() as Document | ShadowRoot;
    return root.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2) === el;
  });
  expect(hit).toBe(true);
}

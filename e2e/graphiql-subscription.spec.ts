import { expect, test } from './fixtures/test';
import { signUp } from './fixtures/account';
import { placeOrder, productNamed } from './fixtures/mall';

// GraphiQL runs subscriptions over graphql-transport-ws (the npm graphql-ws client, served by
// the BFF like the rest of GraphiQL), authenticated by the session cookie of the upgrade: the
// myPage subscription shows the signed-in customer's rows, and an order placed elsewhere (the
// same customer through the API) appears in the result while it runs.
test('GraphiQL runs the myPage subscription and shows a live update', async ({ page, request }) => {
  const { email: customerId } = await signUp(page.request);
  const subscription = `subscription Live {\n  myPage(customerId: "${customerId}") {\n    kind\n    rows { orderId productName orderStatus deliveryStatus }\n  }\n}\n`;
  await page.addInitScript((query) => {
    if (!localStorage.getItem('graphiql:query')) localStorage.setItem('graphiql:query', query);
  }, subscription);
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  const sockets: string[] = [];
  page.on('websocket', (ws) => sockets.push(ws.url()));

  await page.goto('/graphql');
  await expect(page.locator('.graphiql-query-editor')).toContainText('subscription Live');
  await page.getByRole('button', { name: /execute query/i }).click();

  const result = page.locator('.result-window');
  await expect(result).toContainText('"SNAPSHOT"');
  await expect(result).toContainText('"rows": []');
  expect(sockets.some((url) => url.endsWith('/graphql/ws'))).toBe(true);

  const tv = await productNamed(request, 'TV');
  const orderId = await placeOrder(page.request, { productId: tv.id, quantity: 1 });
  await expect(result).toContainText(`"orderId": ${orderId}`);
  await expect(result).toContainText('"CHANGE"');
  await expect(result).toContainText('"DELIVERY_STARTED"');
  expect(errors).toEqual([]);
});

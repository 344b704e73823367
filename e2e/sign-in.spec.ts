import { expect, test, type APIRequestContext, type WebSocket } from './fixtures/test';
import { freshAccount, signUp, staffPage } from './fixtures/account';
import { placeOrder, productNamed } from './fixtures/mall';
import { ShopPage } from './fixtures/shop';

/** A GraphQL request's answer as it is (errors included), as `request`'s session. */
async function ask(request: APIRequestContext, query: string, variables: Record<string, unknown> = {}) {
  const response = await request.post('/graphql', { data: { query, variables } });
  return (await response.json()) as {
    data?: Record<string, unknown> | null;
    errors?: { message: string; extensions?: { code?: string } }[];
  };
}

function codes(answer: { errors?: { extensions?: { code?: string } }[] }): (string | undefined)[] {
  return (answer.errors ?? []).map((e) => e.extensions?.code);
}

// The whole way through the shop's own pages: a visitor sees the catalogue and the sign-in
// page, signs up, signs out, signs in again, orders and sees the order live; signing out
// closes the live link and takes the customer's components away.
test('sign up, sign in, order, see it live, sign out', async ({ page }) => {
  const shop = new ShopPage(page);
  const sockets: WebSocket[] = [];
  page.on('websocket', (ws) => sockets.push(ws));
  await shop.open();

  // Signed out: the catalogue, and the sign-in page instead of orders and deliveries.
  await shop.expectReady('product');
  await expect(shop.productRow('TV')).toBeVisible();
  await shop.expectSignedOut();
  // No OpenID provider is configured here, so none is offered (see oidc.spec.ts).
  await expect(page.getByTestId('sign-in-external')).toBeHidden();

  const account = freshAccount('jay');
  await shop.signUpOnPage(account);
  await shop.expectSignedIn(account.name);
  await shop.expectReady('order');
  await shop.expectReady('delivery');
  await expect(shop.slot('order').getByTestId('no-orders')).toBeVisible();

  await shop.signOut();
  await shop.expectSignedOut();
  await expect(page.getByTestId('auth-message')).toHaveText('You are signed out.');

  // A wrong password is refused without saying which part was wrong.
  const signInForm = shop.authForm('sign-in');
  await signInForm.getByLabel('Email').fill(account.email);
  await signInForm.getByLabel('Password').fill('not the password');
  await signInForm.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByTestId('auth-message')).toContainText('Not signed in');
  await shop.expectSignedOut();

  await signInForm.getByLabel('Password').fill(account.password);
  await signInForm.getByRole('button', { name: 'Sign in' }).click();
  await shop.expectSignedIn(account.name);

  // The order form starts with the account's name and address; the order shows live.
  const live = shop.slot('order').getByTestId('live-status');
  await expect(live).toHaveText('live');
  await shop.selectProduct('CAMERA');
  const order = shop.slot('order');
  await expect(order.getByLabel('Name')).toHaveValue(account.name);
  await expect(order.getByLabel('Address')).toHaveValue(account.address);
  await order.getByRole('button', { name: 'Place order' }).click();
  await expect(order.getByTestId('order-message')).toContainText(/Order \d+ placed/);
  const orderId = Number(/Order (\d+) placed/.exec(await order.getByTestId('order-message').innerText())?.[1]);
  await expect(shop.orderRow(orderId).getByTestId('order-delivery-status')).toHaveText('DeliveryStarted');
  await expect(shop.deliveryRow(orderId).getByTestId('delivery-status')).toHaveText('DeliveryStarted');
  await expect(live).toHaveText('live');
  const liveSockets = sockets.filter((ws) => ws.url().endsWith('/graphql/ws') && !ws.isClosed());
  expect(liveSockets.length).toBeGreaterThan(0);

  // Sign out: the live links close, the customer's components go, nothing of theirs stays.
  await shop.signOut();
  await shop.expectSignedOut();
  await expect.poll(() => liveSockets.filter((ws) => !ws.isClosed()).length).toBe(0);
  await expect(page.getByTestId('host-order')).toHaveCount(0);
  await expect(page.getByTestId('host-delivery')).toHaveCount(0);
  // The old cookie, if anything still sent it, is worth nothing now.
  const after = await ask(page.request, '{ myPage { orderId } }');
  expect(codes(after)).toEqual(['UNAUTHENTICATED']);
});

// The session ends while the page is open (signed out from another tab of the same browser
// here): the BFF closes the page's live link with 4403, and the page shows the sign-in page
// instead of components that can no longer work.
test('a session that ends elsewhere brings the sign-in page back', async ({ page, context }) => {
  const shop = new ShopPage(page);
  await shop.signUpAndOpen();
  await expect(shop.slot('order').getByTestId('live-status')).toHaveText('live');

  const otherTab = await context.newPage();
  // JSON, as the BFF requires of every cookie-carrying POST.
  const response = await otherTab.request.post('/auth/logout', { data: {} });
  expect(response.status()).toBe(204);

  await shop.expectSignedOut();
  await expect(page.getByTestId('auth-message')).toContainText('session has ended');
});

// Two customers in two browsers: the second sees none of the first one's orders, deliveries
// or my-page, in the shop or through the API, and cannot act in the first one's name.
test("a second customer sees none of the first customer's data", async ({ browser, page }) => {
  const first = await signUp(page.request, freshAccount('first'));
  const tv = await productNamed(page.request, 'TV');
  const orderId = await placeOrder(page.request, { productId: tv.id, quantity: 1 });

  const other = await browser.newContext();
  const second = new ShopPage(await other.newPage());
  await second.signUpAndOpen('', freshAccount('second'));
  await expect(second.slot('order').getByTestId('no-orders')).toBeVisible();
  await expect(second.slot('delivery').getByTestId('no-deliveries')).toBeVisible();
  await expect(second.orderRow(orderId)).toHaveCount(0);

  const request = second.page.request;
  const orders = await ask(request, '{ orders { id customerId customerName customerAddr } }');
  expect(orders.errors ?? []).toEqual([]);
  expect(orders.data?.orders).toEqual([]);
  // Another customer's order reads like an unknown one.
  expect(codes(await ask(request, `{ order(orderId: ${orderId}) { id } }`))).toEqual(['NOT_FOUND']);
  for (const query of [
    '{ myPage(customerId: $c) { orderId } }',
    '{ deliveries(customerId: $c) { id } }',
  ]) {
    const answer = await ask(request, `query Q($c: String) ${query}`, { c: first.email });
    expect(answer.data ?? null, query).toBeNull();
    expect(codes(answer), query).not.toContain(undefined);
    // The order's id appears nowhere as a number of its own (the refusal names the asked
    // account, and each error carries a request id: either may hold the same digits).
    const said = JSON.stringify(answer, (key, value) => (key === 'requestId' ? undefined : value));
    expect(said.replaceAll(first.email, '<asked>')).not.toMatch(new RegExp(`\\b${orderId}\\b`));
  }
  const inTheirName = await ask(
    request,
    'mutation P($input: PlaceOrderInput!) { placeOrder(input: $input) { id } }',
    {
      input: { productId: tv.id, quantity: 1, customerId: first.email, customerName: 'X', customerAddr: 'Y' },
    },
  );
  expect(codes(inTheirName)).toEqual(['FORBIDDEN']);
  expect(codes(await ask(request, `mutation { cancelOrder(orderId: ${orderId}) { id } }`))).toEqual([
    'NOT_FOUND',
  ]);
  expect(second.consoleErrors).toEqual([]);
  await other.close();

  // The first customer's order is untouched.
  const mine = await ask(page.request, '{ myPage { orderId orderStatus } }');
  expect(mine.data?.myPage).toEqual([{ orderId, orderStatus: 'ORDERED' }]);
});

// The delivery team (staff, the account the mall made on its first start) looks a customer
// up and completes the delivery; the customer's page shows it live.
test('staff complete a delivery that the customer sees live', async ({ browser, page }) => {
  const shop = new ShopPage(page);
  const customer = await shop.signUpAndOpen();
  await shop.selectProduct('MASK');
  const orderId = await shop.placeOrder({ quantity: 1, name: customer.name, address: customer.address });
  await expect(shop.deliveryRow(orderId).getByTestId('delivery-status')).toHaveText('DeliveryStarted');
  // Customers cannot complete deliveries, in the page or through the API.
  await expect(shop.slot('delivery').getByRole('button', { name: /Complete delivery/ })).toHaveCount(0);
  const deliveryId = await shop.deliveryRow(orderId).getAttribute('data-delivery-id');
  expect(
    codes(await ask(page.request, `mutation { completeDelivery(deliveryId: ${deliveryId}) { id } }`)),
  ).toEqual(['FORBIDDEN']);

  const staff = new ShopPage(await staffPage(browser));
  await staff.open();
  await staff.expectReady('delivery');
  await staff.showDeliveriesOf(customer.email);
  await expect(staff.deliveryRow(orderId).getByTestId('delivery-status')).toHaveText('DeliveryStarted');
  await staff.completeDeliveryOf(orderId);
  await expect(staff.deliveryRow(orderId).getByTestId('delivery-status')).toHaveText('DeliveryCompleted');
  expect(staff.consoleErrors).toEqual([]);
  await staff.page.context().close();

  await expect(shop.deliveryRow(orderId).getByTestId('delivery-status')).toHaveText('DeliveryCompleted');
  await expect(shop.orderRow(orderId).getByTestId('order-delivery-status')).toHaveText('DeliveryCompleted');
});

// Cross-site requests: a POST another site's page could make without the shop's script (a
// form, or `text/plain`) carries the cookie but changes nothing.
test('a text/plain or form POST with a valid session cookie changes nothing', async ({ page }) => {
  await signUp(page.request);
  const tv = await productNamed(page.request, 'TV');
  const mutation = JSON.stringify({
    query: `mutation { placeOrder(input: { productId: ${tv.id}, quantity: 1, customerName: "X", customerAddr: "Y" }) { id } }`,
  });
  const plain = await page.request.post('/graphql', {
    headers: { 'content-type': 'text/plain' },
    data: mutation,
  });
  expect([403, 415]).toContain(plain.status());
  const form = await page.request.post('/graphql', {
    form: { query: JSON.parse(mutation).query },
  });
  expect([403, 415]).toContain(form.status());

  const mine = await ask(page.request, '{ orders { id } }');
  expect(mine.errors ?? []).toEqual([]);
  expect(mine.data?.orders).toEqual([]);
});

// A page of another origin opens a WebSocket to the mall's live endpoint: the upgrade is
// refused (or the socket closed before anything is acknowledged), cookie or not.
test('a WebSocket from another Origin is refused', async ({ page, baseURL }) => {
  await signUp(page.request);
  const foreign = 'http://elsewhere.example/';
  await page.route(`${foreign}**`, (route) =>
    route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>elsewhere</title>' }),
  );
  await page.goto(foreign);
  const wsUrl = new URL('/graphql/ws', baseURL).toString().replace(/^http/, 'ws');
  const outcome = await page.evaluate(
    (url) =>
      new Promise<{ opened: boolean; acked: boolean; code: number }>((resolve) => {
        let opened = false;
        let acked = false;
        const socket = new WebSocket(url, 'graphql-transport-ws');
        socket.onopen = () => {
          opened = true;
          socket.send(JSON.stringify({ type: 'connection_init', payload: {} }));
        };
        socket.onmessage = (event) => {
          if (JSON.parse(String(event.data)).type === 'connection_ack') acked = true;
        };
        socket.onclose = (event) => resolve({ opened, acked, code: event.code });
      }),
    wsUrl,
  );
  expect(outcome.acked).toBe(false);
  if (outcome.opened) expect(outcome.code).toBeGreaterThanOrEqual(4400);
});

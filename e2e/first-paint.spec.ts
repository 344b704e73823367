import { expect, test } from './fixtures/test';
import { freshAccount, signUp } from './fixtures/account';
import { ShopPage } from './fixtures/shop';

// The document carries the page's frame as HTML and everything the browser needs to fetch at
// once: the manifest inlined, who is signed in, and a preload hint for each bundle's module
// and wasm. With every wasm response held back, the frame is already painted (the header
// greeting the account, three slots saying they load); once the wasm arrives the shell takes
// the header over and each slot mounts its component, and each wasm was fetched once: the
// preloaded response is the one instantiated.
test('the frame paints before any wasm arrives, and every bundle is fetched at once', async ({
  page,
  request,
}) => {
  const held: Array<() => void> = [];
  let release = false;
  await page.route('**/*.wasm', async (route) => {
    if (!release) await new Promise<void>((resolve) => held.push(resolve));
    await route.continue();
  });
  const wasmResponses: string[] = [];
  page.on('response', (response) => {
    if (new URL(response.url()).pathname.endsWith('.wasm')) wasmResponses.push(response.url());
  });
  const shop = new ShopPage(page);
  const account = await signUp(page.request);
  await shop.open();

  // Painted with no wasm at all.
  await expect(page.getByTestId('frame-header')).toBeVisible();
  // The header greets the account from the document itself (the BFF knows who asks); its
  // Sign out does nothing yet, so it says so until the shell wires it.
  await expect(page.getByTestId('account')).toBeVisible();
  await expect(page.getByTestId('account-name')).toHaveText(account.name);
  await expect(page.getByRole('button', { name: 'Sign out' })).toBeDisabled();
  await expect(page.getByTestId('auth')).toBeHidden();
  for (const name of ['product', 'order', 'delivery'] as const) {
    await expect(shop.slot(name)).toBeVisible();
    await expect(shop.slot(name)).toHaveAttribute('data-state', 'loading');
    await expect(page.getByTestId(`loading-${name}`)).toBeVisible();
  }
  // The shell's wasm and every component's wasm were requested in parallel, straight from the
  // document's hints (not one after another): all four are held at once.
  await expect.poll(() => held.length).toBe(4);
  expect(wasmResponses).toEqual([]);
  // Chain depth: every component's module was requested too while no wasm had arrived, so
  // none waited for the shell's wasm to run; the manifest came with the document.
  const manifest = await (await request.get('/components.json')).json();
  for (const name of ['product', 'order', 'delivery']) {
    expect(shop.requests.some((url) => url.endsWith(`/${manifest[name].entry}`)), name).toBe(true);
  }

  release = true;
  for (const resolve of held) resolve();
  for (const name of ['product', 'order', 'delivery'] as const) await shop.expectReady(name);
  await shop.expectSignedIn(account.name);
  await expect(page.getByRole('button', { name: 'Sign out' })).toBeEnabled();

  // The hints name the deployed manifest's bundles (the document as this signed-in browser
  // gets it: a signed-out one is not hinted the customer's bundles).
  const html = await (await page.request.get('/')).text();
  for (const name of ['product', 'order', 'delivery']) {
    const entry: string = manifest[name].entry;
    const wasm = entry.replace(/\.js$/, '_bg.wasm');
    expect(html).toContain(`<link rel="modulepreload" href="./${entry}">`);
    expect(html).toContain(`<link rel="preload" href="./${wasm}" as="fetch" crossorigin>`);
    // Fetched once: a preload the loader could not use would be fetched a second time.
    expect(shop.requests.filter((url) => url.endsWith(`/${wasm}`))).toHaveLength(1);
    expect(shop.requests.filter((url) => url.endsWith(`/${entry}`))).toHaveLength(1);
  }
  // The page asked for no components.json: the document carried it.
  expect(shop.requests.some((url) => url.endsWith('/components.json'))).toBe(false);
  expect(shop.consoleErrors).toEqual([]);
});

// A visitor who is not signed in gets the catalogue and the sign-in page: the order and
// delivery bundles (which need a customer) are neither hinted nor fetched, so they take
// none of the first paint's bandwidth. Signing in on the page loads them then.
test('a signed-out page fetches only the catalogue, and signing in loads the rest', async ({ page }) => {
  const shop = new ShopPage(page);
  await shop.open();
  await shop.expectReady('product');
  await shop.expectSignedOut();
  const customerBundles = () =>
    shop.requests.filter((url) => /\/components\/(order|delivery)\//.test(new URL(url).pathname));
  const hinted = await page.evaluate(() =>
    [...document.querySelectorAll('link[rel="modulepreload"], link[rel="preload"]')].map(
      (link) => new URL((link as HTMLLinkElement).href).pathname,
    ),
  );
  expect(hinted.some((path) => path.startsWith('/components/product/'))).toBe(true);
  expect(hinted.filter((path) => /^\/components\/(order|delivery)\//.test(path))).toEqual([]);
  expect(customerBundles()).toEqual([]);

  const account = freshAccount('visitor');
  await shop.signUpOnPage(account);
  await shop.expectSignedIn(account.name);
  await shop.expectReady('order');
  await shop.expectReady('delivery');
  expect(customerBundles().length).toBeGreaterThan(0);
  expect(shop.consoleErrors).toEqual([]);
});

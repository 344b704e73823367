import { expect, test } from './fixtures/test';
import { ShopPage } from './fixtures/shop';

// The shop, GraphiQL and the API answer under a strict script policy: scripts of the BFF's
// origin and wasm only, the shop's one inline start script by its hash, no eval. Every spec
// runs under the `contentSecurityPolicy` fixture (fixtures/test.ts), which fails a test on
// any violation; this spec shows both sides of that.

for (const path of ['/', '/graphql', '/components.json']) {
  test(`${path} answers with a strict script policy`, async ({ request }) => {
    const response = await request.get(path, { headers: { accept: 'text/html' } });
    const policy = response.headers()['content-security-policy'] ?? '';
    const script = policy
      .split(';')
      .map((d) => d.trim())
      .find((d) => d.startsWith('script-src '));
    expect(script, policy).toBeDefined();
    for (const source of (script as string).split(/\s+/).slice(1)) {
      expect(["'self'", "'wasm-unsafe-eval'"].includes(source) || source.startsWith("'sha256-"), source).toBe(
        true,
      );
    }
    expect(policy).toContain("object-src 'none'");
    expect(policy).toContain("frame-ancestors 'none'");
  });
}

test('the shop runs under its policy: every component mounts', async ({ page }) => {
  const shop = new ShopPage(page);
  await shop.signUpAndOpen();
  for (const name of ['product', 'order', 'delivery'] as const) await shop.expectReady(name);
  expect(shop.consoleErrors).toEqual([]);
});

/** Adds an inline script to the page, as an injection would. */
async function inject(page: import('./fixtures/test').Page): Promise<void> {
  await page.evaluate(() => {
    const script = document.createElement('script');
    script.textContent = 'window.injected = true;';
    document.head.append(script);
  });
}

test('a script injected into the shop is refused and reported', async ({ page, contentSecurityPolicy }) => {
  await page.goto('/');
  await inject(page);
  expect(await page.evaluate(() => (window as unknown as { injected?: boolean }).injected)).toBeUndefined();
  // Seen twice: the page's `securitypolicyviolation` event and Chromium's console error.
  const seen = () => contentSecurityPolicy.violations.join('\n');
  await expect.poll(seen).toContain('[csp] script-src-elem refused inline');
  await expect.poll(seen).toContain('violates the following Content Security Policy directive');
  // Cleared, so that this test passes; the next one leaves it to fail its test.
  contentSecurityPolicy.violations.length = 0;
});

test('a policy violation fails the test it happens in', async ({ page, contentSecurityPolicy }) => {
  // Expected to fail: the fixture turns the violation into the test's failure.
  test.fail();
  await page.goto('/');
  await inject(page);
  // Once the fixture has seen it, the test body passes: the fixture fails the test after it.
  await expect.poll(() => contentSecurityPolicy.violations.length).toBeGreaterThan(0);
});

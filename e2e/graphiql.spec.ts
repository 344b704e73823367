import { expect, test } from './fixtures/test';
import { signUp } from './fixtures/account';

// GraphiQL is served by the BFF from files of the npm registry: with every request to
// anywhere but this machine refused, it still renders and runs a query, signed in by the
// shop's own session cookie (the lab query then lists the customer's own orders).
test('GraphiQL renders and runs a query with the network closed except localhost', async ({
  page,
}) => {
  const refused: string[] = [];
  await page.route('**/*', (route) => {
    const { hostname, protocol } = new URL(route.request().url());
    const local = hostname === '127.0.0.1' || hostname === 'localhost' || protocol === 'data:';
    if (local) return route.continue();
    refused.push(route.request().url());
    return route.abort('internetdisconnected');
  });
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });

  await signUp(page.request);
  await page.goto('/graphql');
  const run = page.getByRole('button', { name: /execute query/i });
  await expect(run).toBeVisible();

  // The page opens on the course's Composite lab query; run it as it is.
  await expect(page.locator('.graphiql-query-editor')).toContainText('query Composite');
  await run.click();

  const result = page.locator('.result-window');
  await expect(result).toContainText('"orders"');
  await expect(result).not.toContainText('"errors"');
  expect(refused).toEqual([]);
  expect(errors).toEqual([]);
});

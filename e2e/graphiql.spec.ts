import { expect, test } from '@playwright/test';

// GraphiQL is served by the BFF from files of the npm registry: with every request to
// anywhere but this machine refused, it still renders and runs a query.
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

  await page.goto('/graphql');
  const run = page.getByRole('button', { name: /execute query/i });
  await expect(run).toBeVisible();

  const editor = page.locator('.graphiql-query-editor .CodeMirror').first();
  await editor.click();
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  await page.keyboard.type('{ products(page: 0, size: 3) { items { name price } totalElements } }');
  await run.click();

  const result = page.locator('.result-window');
  await expect(result).toContainText('"TV"');
  await expect(result).toContainText('"totalElements"');
  expect(refused).toEqual([]);
  expect(errors).toEqual([]);
});

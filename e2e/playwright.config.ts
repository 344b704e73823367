import { defineConfig } from '@playwright/test';

// The suite runs against a running mall (`cargo xtask test` starts it and sets MALL_URL) in
// Debian's Chromium: no browser download.
export default defineConfig({
  testDir: '.',
  timeout: 90_000,
  expect: { timeout: 20_000 },
  fullyParallel: false,
  // One mall, one shared store: the specs run one after another.
  workers: 1,
  retries: 0,
  reporter: [['list']],
  use: {
    baseURL: process.env.MALL_URL ?? 'http://127.0.0.1:8088',
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    },
    trace: 'retain-on-failure',
  },
  projects: [
    // The shop as deployed: journey and isolation matrix.
    { name: 'shop', testIgnore: /(independent-deploy|delivery-down|oidc)\.spec\.ts/ },
    // Run after `cargo xtask` deployed a new product version on its own.
    { name: 'deploy', testMatch: /independent-deploy\.spec\.ts/ },
    // Run against a mall whose BFF cannot reach the delivery service.
    { name: 'delivery-down', testMatch: /delivery-down\.spec\.ts/ },
    // Run against a mall whose BFF signs in at an external OpenID provider (started by
    // `cargo xtask e2e`, which passes its name as MALL_OIDC_NAME).
    { name: 'oidc', testMatch: /oidc\.spec\.ts/ },
  ],
});

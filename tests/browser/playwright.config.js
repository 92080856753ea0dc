// Playwright's settings for the browser tests of chatd's page: Debian's Chromium (never a
// browser of Playwright's own, which would be downloaded), one test at a time (each starts
// its own chatd), and the time zone and locale fixed so that screenshots do not vary.
const { defineConfig } = require('@playwright/test');

module.exports = defineConfig({
  testDir: './specs',
  timeout: 90_000,
  expect: { timeout: 10_000 },
  workers: 1,
  retries: 0,
  forbidOnly: Boolean(process.env.CI),
  reporter: [['list']],
  outputDir: 'test-results',
  use: {
    browserName: 'chromium',
    launchOptions: { executablePath: process.env.CHROMIUM || '/usr/bin/chromium' },
    viewport: { width: 1280, height: 800 },
    timezoneId: 'UTC',
    locale: 'en-GB',
    colorScheme: 'light',
    trace: 'retain-on-failure',
  },
});

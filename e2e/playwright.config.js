// Playwright drives Debian's /usr/bin/chromium (no browser download). The
// page is served by serve.mjs from ../www, which must hold the built WASM
// package in www/pkg (cargo xtask test builds it first).
import { defineConfig } from '@playwright/test';

const PORT = Number(process.env.E2E_PORT || 8123);
export const ARTIFACTS = process.env.E2E_ARTIFACTS || '../target/e2e-artifacts';

export default defineConfig({
  testDir: './tests',
  outputDir: `${ARTIFACTS}/results`,
  timeout: 60_000,
  expect: { timeout: 20_000 },
  workers: 1,
  reporter: [['list']],
  use: {
    baseURL: `http://127.0.0.1:${PORT}`,
    browserName: 'chromium',
    headless: true,
    viewport: { width: 1440, height: 1000 },
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run'],
    },
  },
  webServer: {
    command: `node serve.mjs ${PORT}`,
    url: `http://127.0.0.1:${PORT}/index.html`,
    reuseExistingServer: false,
    timeout: 20_000,
  },
});

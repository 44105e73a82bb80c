// Headless Chromium for the browser tests: Debian's /usr/bin/chromium driven by
// playwright-core (no browser download — `npx playwright install` cannot run here), a
// fresh profile per launch, and the screenshots and logs a failed test leaves behind in
// tests/browser/artifacts/ (git-ignored).

import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const ARTIFACTS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'artifacts');

// Without the background-networking flags Chromium keeps dialling Google's hosts, which
// a closed network refuses; QUIC, sync and component updates are more of the same.
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Launches Chromium with a new, empty user-data directory (so no cookie or cache
 * survives from an earlier run) and opens one page.
 * @returns {Promise<{context: import('playwright-core').BrowserContext,
 *   page: import('playwright-core').Page, close: () => Promise<void>}>}
 */
export async function launchBrowser() {
  const userDataDir = await mkdtemp(path.join(tmpdir(), 'cognito-sidecar-chromium-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: FLAGS,
      viewport: { width: 1024, height: 720 },
      timeout: 30_000,
    });
  } catch (e) {
    await rm(userDataDir, { recursive: true, force: true });
    throw e;
  }
  context.setDefaultTimeout(15_000);
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    async close() {
      await context.close().catch(() => {});
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}

function slug(name) {
  return name.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '').toLowerCase();
}

/** Saves a full-page screenshot as artifacts/<name>.png and returns its path. */
export async function screenshot(page, name) {
  await mkdir(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${slug(name)}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/**
 * Runs `body`; if it throws, saves a screenshot of `page` and the stack's process logs
 * under artifacts/ (named after `name`) before rethrowing, so a red CI run shows what
 * the browser saw.
 */
export async function withFailureArtifacts(name, page, stack, body) {
  try {
    return await body();
  } catch (error) {
    const base = `${slug(name)}-failure`;
    const saved = [];
    try {
      saved.push(await screenshot(page, base));
    } catch (e) {
      saved.push(`(no screenshot: ${e.message})`);
    }
    try {
      await mkdir(ARTIFACTS, { recursive: true });
      for (const [proc, log] of Object.entries(stack?.logs() ?? {})) {
        const file = path.join(ARTIFACTS, `${base}-${proc}.log`);
        await writeFile(file, log);
        saved.push(file);
      }
    } catch (e) {
      saved.push(`(no logs: ${e.message})`);
    }
    error.message += `\n  page: ${page.url()}\n  artifacts: ${saved.join(', ')}`;
    throw error;
  }
}

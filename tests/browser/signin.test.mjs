// A real browser through the whole product (issue 4): headless Chromium signs in at the
// emulator's hosted UI, sees its identity on the app page, talks to the app over a
// WebSocket through the sidecar on the session cookie, signs out, and is asked for its
// password again. Run with tests/browser/run.sh (or `node --test tests/browser/`).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  COOKIE,
  PASSWORD,
  SIGNED_OUT_PATH,
  launchBrowser,
  screenshot,
  startStack,
  withFailureArtifacts,
} from './stack.mjs';

let stack;
let browser;

before(async () => {
  stack = await startStack();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

/** Where the page is, without the query: origin + path. */
function at(page) {
  const url = new URL(page.url());
  return `${url.origin}${url.pathname}`;
}

// URL predicates for waitForURL: a string would be read as a glob, where `?` is special.
const isUrl = (href) => (url) => url.href === href;
const isPage = (originAndPath) => (url) => `${url.origin}${url.pathname}` === originAndPath;

/**
 * Opens a WebSocket from inside the page, sends each message and collects the echoes.
 * Resolves `{opened: false, code}` when the handshake is refused.
 */
function wsRoundTrip(page, url, messages) {
  return page.evaluate(
    ({ url, messages }) =>
      new Promise((resolve) => {
        const ws = new WebSocket(url);
        const echoes = [];
        let opened = false;
        const timer = setTimeout(() => {
          ws.close();
          resolve({ opened, echoes, timedOut: true });
        }, 10_000);
        ws.onopen = () => {
          opened = true;
          for (const m of messages) ws.send(m);
        };
        ws.onmessage = (event) => {
          echoes.push(event.data);
          if (echoes.length === messages.length) ws.close(1000, 'done');
        };
        ws.onclose = (event) => {
          clearTimeout(timer);
          resolve({ opened, echoes, code: event.code });
        };
      }),
    { url, messages },
  );
}

async function expectHostedUiSignInForm(page) {
  assert.equal(at(page), `${stack.idp}/login`, 'expected the hosted UI sign-in page');
  await page.locator('input[name="username"]').waitFor({ state: 'visible' });
  await page.locator('input[name="password"]').waitFor({ state: 'visible' });
  assert.equal(await page.inputValue('input[name="password"]'), '');
}

async function sessionCookies() {
  const cookies = await browser.context.cookies(stack.app('/'));
  // The session cookie, or its chunks NAME_0, NAME_1, … (SPEC §7); not the NAME_csrf_*
  // cookies of sign-ins in progress.
  const chunk = new RegExp(`^${COOKIE}_\\d+$`);
  return cookies.filter((c) => c.name === COOKIE || chunk.test(c.name));
}

test('sign in, WebSocket and sign out in Chromium', { timeout: 120_000 }, async (t) => {
  const { page } = browser;
  // Each step builds on the one before; after a failure the rest are skipped so the
  // report names the step that broke, with its screenshot and logs in artifacts/.
  let failed = null;
  const step = (name, artifact, body) =>
    t.test(name, { skip: failed ? `skipped after "${failed}" failed` : false }, async () => {
      try {
        await withFailureArtifacts(artifact, page, stack, body);
      } catch (e) {
        failed = name;
        throw e;
      }
    });

  await step('a protected deep link leads to the hosted UI sign-in form', 'deep-link', async () => {
    await page.goto(stack.app('/dashboard?tab=overview'));
    await expectHostedUiSignInForm(page);
    await screenshot(page, 'hosted-ui-sign-in');
  });

  await step('signing in returns to the deep link showing the user', 'sign-in', async () => {
    await page.fill('input[name="username"]', 'alice');
    await page.fill('input[name="password"]', PASSWORD);
    await Promise.all([
      page.waitForURL(isUrl(stack.app('/dashboard?tab=overview'))),
      page.click('button[type="submit"]'),
    ]);
    assert.equal(await page.textContent('#signed-in-as'), 'alice');
    assert.equal(await page.textContent('#email'), 'alice@example.com');
    assert.equal(await page.textContent('#groups'), 'admins');
    assert.equal(await page.textContent('#sub'), '11111111-1111-4111-8111-111111111111');
    assert.equal(await page.textContent('#path'), '/dashboard?tab=overview');
    await screenshot(page, 'signed-in');

    const [session, ...more] = await sessionCookies();
    assert.ok(session, 'the session cookie is set for the app');
    assert.equal(more.length, 0, 'one unsplit session cookie');
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Lax');
    assert.equal(session.path, '/');
    assert.ok(!(await page.evaluate(() => document.cookie)).includes(COOKIE));
    const seen = stack.upstream.requests.filter((r) => r.url === '/dashboard?tab=overview');
    assert.equal(seen.length, 1, 'the app saw the deep link once, after sign-in');
    for (const r of stack.upstream.requests) {
      assert.ok(!(r.headers.cookie ?? '').includes(COOKIE), `own cookie reached the app: ${r.url}`);
    }
  });

  await step('a WebSocket from the page reaches the app as alice', 'websocket', async () => {
    const big = 'x'.repeat(200_000);
    const result = await wsRoundTrip(page, stack.ws(), ['hello through the sidecar', big]);
    assert.equal(result.opened, true, `handshake refused (close code ${result.code})`);
    assert.deepEqual(result.echoes, ['hello through the sidecar', big]);
    assert.equal(result.code, 1000);

    assert.equal(stack.upstream.wsHandshakes.length, 1);
    const [handshake] = stack.upstream.wsHandshakes;
    assert.equal(handshake.headers['x-forwarded-user'], 'alice');
    assert.equal(handshake.headers['x-forwarded-email'], 'alice@example.com');
    assert.equal(handshake.headers.origin, stack.appOrigin);
    assert.ok(!(handshake.headers.cookie ?? '').includes(COOKIE));
  });

  await step('sign-out ends on the public landing page without a session', 'sign-out', async () => {
    const before = await stack.stats();
    await Promise.all([
      page.waitForURL(isUrl(stack.app(SIGNED_OUT_PATH))),
      page.click('#sign-out'),
    ]);
    assert.equal(await page.textContent('#signed-out'), 'You have signed out');
    await screenshot(page, 'signed-out');
    assert.deepEqual(await sessionCookies(), []);
    const after = await stack.stats();
    assert.equal(after.revoke_requests, before.revoke_requests + 1, 'refresh token revoked');

    // Same page origin, no session: the handshake is refused before it reaches the app.
    const refused = await wsRoundTrip(page, stack.ws(), ['anyone there?']);
    assert.equal(refused.opened, false);
    assert.deepEqual(refused.echoes, []);
    assert.equal(stack.upstream.wsHandshakes.length, 1, 'no handshake reached the app');
  });

  await step('opening the app again asks for a password, no silent sign-in', 'again', async () => {
    await Promise.all([
      page.waitForURL(isPage(`${stack.idp}/login`)),
      page.click('#sign-in-again'),
    ]);
    await expectHostedUiSignInForm(page);
    await page.goto(stack.app('/'));
    await expectHostedUiSignInForm(page);
    assert.deepEqual(await sessionCookies(), []);
  });
});

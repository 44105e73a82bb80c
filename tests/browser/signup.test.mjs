// Self-registration in a real browser (issue 9): headless Chromium opens a protected
// page, follows the hosted UI's "Sign up" link, is refused a password the policy
// rejects, signs up with a good one, confirms the account with the code the emulator
// "emailed" (read from its outbox by the test, not the browser), and lands on the app
// signed in as the new user — the code redirect and the sidecar's session, as after a
// normal sign-in. It then signs out and signs in again through the ordinary form, so the
// account and its password persist. Run with tests/browser/run.sh.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  COOKIE,
  SIGNED_OUT_PATH,
  launchBrowser,
  screenshot,
  startStack,
  withFailureArtifacts,
} from './stack.mjs';

// The pool's sign-up settings, spelled out rather than left to the emulator's defaults
// (which are the same): self-registration on, email required and verified by code, and
// Cognito's default password policy.
const POOL_SETTINGS = `sign_in:
  password_policy:
    minimum_length: 8
    require_uppercase: true
    require_lowercase: true
    require_numbers: true
    require_symbols: true
sign_up:
  self_registration: true
  required_attributes: [email]
  auto_verified_attributes: [email]
`;

const USERNAME = 'carol';
const EMAIL = 'carol@example.com';
/** Every character class the policy asks for, but six characters of the eight. */
const TOO_SHORT = 'Sh0rt!';
const PASSWORD = 'Carol-Passw0rd!';
const DEEP_LINK = '/welcome?from=signup';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let stack;
let browser;

before(async () => {
  stack = await startStack({ emulatorExtra: POOL_SETTINGS });
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

/** The page's query parameters as a plain object (one value each). */
function query(page) {
  return Object.fromEntries(new URL(page.url()).searchParams);
}

// URL predicates for waitForURL: a string would be read as a glob, where `?` is special.
const isUrl = (href) => (url) => url.href === href;
const isPage = (originAndPath) => (url) => `${url.origin}${url.pathname}` === originAndPath;

async function expectHostedUiSignInForm(page) {
  assert.equal(at(page), `${stack.idp}/login`, 'expected the hosted UI sign-in page');
  await page.locator('input[name="username"]').waitFor({ state: 'visible' });
  await page.locator('input[name="password"]').waitFor({ state: 'visible' });
}

async function sessionCookies() {
  const cookies = await browser.context.cookies(stack.app('/'));
  const chunk = new RegExp(`^${COOKIE}_\\d+$`);
  return cookies.filter((c) => c.name === COOKIE || chunk.test(c.name));
}

/** Submits the sign-up form and waits for the page the answer renders. */
async function submitSignUp(page, password) {
  await page.fill('input[name="password"]', password);
  await Promise.all([page.waitForEvent('load'), page.click('button[name="signUpButton"]')]);
}

test('sign up, confirm, sign in as the new user in Chromium', { timeout: 120_000 }, async (t) => {
  const { page } = browser;
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

  // The authorize parameters the sidecar sent; every hosted-UI page must carry them on.
  let authorize;
  let sub;

  await step('the sign-in page links to sign-up with the same request', 'signup-link', async () => {
    await page.goto(stack.app(DEEP_LINK));
    await expectHostedUiSignInForm(page);
    authorize = query(page);
    assert.equal(authorize.client_id, 'local-client');
    assert.equal(authorize.redirect_uri, stack.app('/oauth2/callback'));
    assert.ok(authorize.state, 'the sidecar sent a state');

    const link = page.getByRole('link', { name: 'Need an account? Sign up' });
    await Promise.all([page.waitForURL(isPage(`${stack.idp}/signup`)), link.click()]);
    assert.deepEqual(query(page), authorize, 'sign-up keeps the authorize parameters');
    assert.equal(await page.textContent('h1'), 'Sign up with a new account');
    for (const name of ['username', 'email', 'password']) {
      await page.locator(`input[name="${name}"]`).waitFor({ state: 'visible' });
    }
    await screenshot(page, 'hosted-ui-sign-up');
  });

  await step('a password the policy refuses gets Cognito\'s message', 'signup-policy', async () => {
    await page.fill('input[name="username"]', USERNAME);
    await page.fill('input[name="email"]', EMAIL);
    await submitSignUp(page, TOO_SHORT);
    assert.equal(at(page), `${stack.idp}/signup`);
    assert.equal(
      await page.textContent('#errorMessage'),
      'Password did not conform with policy: Password not long enough',
    );
    // What was typed comes back, except the password.
    assert.equal(await page.inputValue('input[name="username"]'), USERNAME);
    assert.equal(await page.inputValue('input[name="email"]'), EMAIL);
    assert.equal(await page.inputValue('input[name="password"]'), '');
    assert.deepEqual(await stack.outbox(USERNAME), [], 'no account, no code');
    await screenshot(page, 'hosted-ui-sign-up-refused');
  });

  let code;
  await step('a valid sign-up leads to the confirm page and emails a code', 'signup', async () => {
    await Promise.all([
      page.waitForURL(isPage(`${stack.idp}/confirmUser`)),
      submitSignUp(page, PASSWORD),
    ]);
    assert.deepEqual(query(page), { ...authorize, username: USERNAME });
    assert.equal(await page.textContent('h1'), 'Confirm your account');
    assert.match(await page.textContent('main'), /We have sent a code by email to c\*\*\*@e\*\*\*/);
    assert.equal(await page.inputValue('input[name="username"]'), USERNAME);
    assert.deepEqual(await sessionCookies(), [], 'not signed in before confirming');

    const messages = await stack.outbox(USERNAME);
    assert.equal(messages.length, 1, `one message: ${JSON.stringify(messages)}`);
    const [message] = messages;
    assert.equal(message.kind, 'confirm_sign_up');
    assert.equal(message.username, USERNAME);
    assert.equal(message.destination, EMAIL);
    assert.match(message.code, /^\d{6}$/);
    code = message.code;
    await screenshot(page, 'hosted-ui-confirm');
  });

  await step('the right code signs the new user in at the app', 'confirm', async () => {
    await page.fill('input[name="code"]', code);
    await Promise.all([
      page.waitForURL(isUrl(stack.app(DEEP_LINK))),
      page.click('button[name="confirm"]'),
    ]);
    assert.equal(await page.textContent('#signed-in-as'), USERNAME);
    assert.equal(await page.textContent('#email'), EMAIL);
    assert.equal(await page.textContent('#groups'), '');
    sub = await page.textContent('#sub');
    assert.match(sub, UUID);
    assert.equal(await page.textContent('#path'), DEEP_LINK);
    await screenshot(page, 'signed-up');

    const [session, ...more] = await sessionCookies();
    assert.ok(session, 'the sidecar set its session cookie');
    assert.equal(more.length, 0, 'one unsplit session cookie');
    const seen = stack.upstream.requests.filter((r) => r.url === DEEP_LINK);
    assert.equal(seen.length, 1, 'the app saw the deep link once, after confirmation');
    assert.equal(seen[0].headers['x-forwarded-user'], USERNAME);
    assert.equal(seen[0].headers['x-forwarded-email'], EMAIL);
  });

  await step('sign-out ends the new user\'s session', 'sign-out', async () => {
    await Promise.all([
      page.waitForURL(isUrl(stack.app(SIGNED_OUT_PATH))),
      page.click('#sign-out'),
    ]);
    assert.equal(await page.textContent('#signed-out'), 'You have signed out');
    assert.deepEqual(await sessionCookies(), []);
  });

  await step('the account persists: signing in again with its password', 'sign-in', async () => {
    await Promise.all([
      page.waitForURL(isPage(`${stack.idp}/login`)),
      page.click('#sign-in-again'),
    ]);
    await expectHostedUiSignInForm(page);
    assert.equal(await page.inputValue('input[name="password"]'), '');
    await page.fill('input[name="username"]', USERNAME);
    await page.fill('input[name="password"]', PASSWORD);
    await Promise.all([
      page.waitForURL(isUrl(stack.app('/'))),
      page.click('button[type="submit"]'),
    ]);
    assert.equal(await page.textContent('#signed-in-as'), USERNAME);
    assert.equal(await page.textContent('#email'), EMAIL);
    assert.equal(await page.textContent('#sub'), sub, 'the same account');
    assert.equal((await sessionCookies()).length, 1);
    assert.equal((await stack.outbox(USERNAME)).length, 1, 'no new code to sign in');
  });
});

// The whole stack a browser test signs in to, started from the real binary on loopback
// ports: the local Cognito emulator (hooks enabled), the demo app (upstream.mjs), and the
// sidecar in front of it with `public_url: http://localhost:<port>`. Reusable by any
// browser test: `const stack = await startStack(); … await stack.stop();`.
//
// The emulator is reached as 127.0.0.1 and the sidecar as localhost, so the browser
// keeps their cookies apart as it would for a real hosted-UI domain and app.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SIGNED_OUT_PATH, WS_PATH, startUpstream } from './upstream.mjs';

export { SIGNED_OUT_PATH, WS_PATH };
export { launchBrowser, screenshot, withFailureArtifacts, ARTIFACTS } from './browser.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN =
  process.env.SIDECAR_BIN ?? path.join(ROOT, 'target', 'debug', 'cognito-sidecar');

export const POOL = 'us-east-1_LOCAL';
export const CLIENT = 'local-client';
export const CLIENT_SECRET = 'local-secret';
export const PASSWORD = 'Passw0rd!';
export const COOKIE = '_cognito_sidecar';

/** The pool's users: alice (admins) and bob (no groups), both with PASSWORD. */
export const USERS = [
  {
    username: 'alice',
    password: PASSWORD,
    sub: '11111111-1111-4111-8111-111111111111',
    attributes: { email: 'alice@example.com', email_verified: 'true' },
    groups: ['admins'],
  },
  {
    username: 'bob',
    password: PASSWORD,
    sub: '22222222-2222-4222-8222-222222222222',
    attributes: { email: 'bob@example.com', email_verified: 'true' },
    groups: [],
  },
];

const STOP_GRACE_MS = 5_000;
const READY_TIMEOUT_MS = 30_000;
const LOG_LIMIT = 1 << 20;

/** A loopback port that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// Every child still alive when the test process exits (even on a crash) is killed.
const live = new Set();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** One `cognito-sidecar` child process with its stderr kept for diagnostics. */
class Proc {
  constructor(name, args) {
    this.name = name;
    this.log = '';
    // COGNITO_SIDECAR_* variables override config keys (SPEC §3): a developer's shell
    // must not change what the test configured.
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !k.startsWith('COGNITO_SIDECAR_')),
    );
    env.RUST_LOG = 'info';
    this.child = spawn(BIN, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    live.add(this.child);
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (chunk) => {
      if (this.log.length < LOG_LIMIT) this.log += chunk;
    });
    this.exited = new Promise((resolve) => {
      this.child.once('error', (e) => {
        this.log += `\nspawn failed: ${e.message}\n`;
        resolve(null);
      });
      this.child.once('exit', (code, signal) => resolve(code ?? signal));
    }).finally(() => live.delete(this.child));
    this.exitStatus = undefined;
    this.exited.then((status) => {
      this.exitStatus = status;
    });
  }

  /** SIGTERM (the sidecar drains, SPEC §5.7), then SIGKILL after a grace period. */
  async stop() {
    if (this.exitStatus !== undefined) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_GRACE_MS);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Polls `probe` until it returns true; fails early with the logs if `proc` exits. */
async function waitUntil(what, proc, probe) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (proc.exitStatus !== undefined) {
      throw new Error(`${proc.name} exited (${proc.exitStatus}) before ${what}:\n${proc.log}`);
    }
    if (await probe().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${proc.name}: no ${what} within ${READY_TIMEOUT_MS} ms:\n${proc.log}`);
}

// YAML accepts JSON's double-quoted strings and flow collections, so every value is
// written with JSON.stringify and nothing needs YAML escaping rules.
const y = (value) => JSON.stringify(value);

function emulatorYaml({ port, appOrigin, logoutUrl, users, clientExtra, emulatorExtra }) {
  const userYaml = users
    .map(
      (u) => `  - username: ${y(u.username)}
    password: ${y(u.password)}
    sub: ${y(u.sub)}
    attributes: ${y(u.attributes)}
    groups: ${y(u.groups ?? [])}`,
    )
    .join('\n');
  return `listen: 127.0.0.1:${port}
region: us-east-1
user_pool_id: ${POOL}
hooks:
  enabled: true
clients:
  - client_id: ${CLIENT}
    client_secret: ${CLIENT_SECRET}
    callback_urls: [${y(`${appOrigin}/oauth2/callback`)}]
    logout_urls: [${y(logoutUrl)}]
    allowed_scopes: [openid, email, profile]
${clientExtra}
users:
${userYaml}
${emulatorExtra}
`;
}

function sidecarYaml({ port, upstream, appOrigin, idp, logoutUrl, publicPaths, sidecarExtra }) {
  return `listen: 127.0.0.1:${port}
upstream: ${y(upstream)}
public_url: ${y(appOrigin)}
cognito:
  region: us-east-1
  user_pool_id: ${POOL}
  client_id: ${CLIENT}
  client_secret: ${CLIENT_SECRET}
  domain: ${y(idp)}
  issuer: ${y(`${idp}/${POOL}`)}
  logout_url: ${y(logoutUrl)}
session:
  secret: ${y(randomBytes(32).toString('base64'))}
access:
  public_paths: ${y(publicPaths)}
${sidecarExtra}
`;
}

/**
 * Starts emulator, app and sidecar, and waits until the sidecar is ready (JWKS loaded).
 *
 * Options (all optional): `users` (default USERS), `clientExtra` (YAML lines appended to
 * local-client, indented 4 spaces), `emulatorExtra` (top-level emulator YAML),
 * `publicPaths` (default ['/public/*'], which holds the signed-out page),
 * `sidecarExtra` (top-level sidecar YAML other than `access`).
 */
export async function startStack(options = {}) {
  const {
    users = USERS,
    clientExtra = '',
    emulatorExtra = '',
    publicPaths = ['/public/*'],
    sidecarExtra = '',
  } = options;
  const dir = await mkdtemp(path.join(tmpdir(), 'cognito-sidecar-browser-'));
  const procs = [];
  let upstream;
  const stop = async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await upstream?.close();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    upstream = await startUpstream();
    const [appPort, idpPort] = [await freePort(), await freePort()];
    const appOrigin = `http://localhost:${appPort}`;
    const idp = `http://127.0.0.1:${idpPort}`;
    // A public page, so the end of sign-out is visible instead of a new sign-in; it must
    // be a registered sign-out URL of the client, matched exactly (cognito-protocol §1.6).
    const logoutUrl = `${appOrigin}${SIGNED_OUT_PATH}`;

    const emulatorConfig = path.join(dir, 'emulator.yaml');
    await writeFile(
      emulatorConfig,
      emulatorYaml({ port: idpPort, appOrigin, logoutUrl, users, clientExtra, emulatorExtra }),
    );
    const emulator = new Proc('emulator', ['emulator', '-c', emulatorConfig]);
    procs.push(emulator);
    await waitUntil('JWKS', emulator, async () => {
      const resp = await fetch(`${idp}/${POOL}/.well-known/jwks.json`);
      return resp.ok;
    });

    const sidecarConfig = path.join(dir, 'sidecar.yaml');
    await writeFile(
      sidecarConfig,
      sidecarYaml({
        port: appPort,
        upstream: upstream.url,
        appOrigin,
        idp,
        logoutUrl,
        publicPaths,
        sidecarExtra,
      }),
    );
    const sidecar = new Proc('sidecar', ['run', '-c', sidecarConfig]);
    procs.push(sidecar);
    await waitUntil('readiness', sidecar, async () => {
      const resp = await fetch(`http://127.0.0.1:${appPort}/readyz`);
      return resp.status === 200;
    });

    return {
      upstream,
      idp,
      appOrigin,
      /** The app URL of `p` as the browser opens it. */
      app: (p = '/') => `${appOrigin}${p}`,
      /** The WebSocket URL of `p` through the sidecar. */
      ws: (p = WS_PATH) => `ws://localhost:${appPort}${p}`,
      /** POST /_emulator/<name> with a JSON body (emulator test hooks). */
      async hook(name, body) {
        const resp = await fetch(`${idp}/_emulator/${name}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        if (!resp.ok) throw new Error(`emulator hook ${name}: HTTP ${resp.status}`);
      },
      /** The emulator's request counters (GET /_emulator/stats). */
      async stats() {
        const resp = await fetch(`${idp}/_emulator/stats`);
        if (!resp.ok) throw new Error(`emulator stats: HTTP ${resp.status}`);
        return resp.json();
      },
      /**
       * What the emulator "sent" to `username` (GET /_emulator/outbox?username=…):
       * verification codes and invitations, oldest first.
       */
      async outbox(username) {
        const url = new URL(`${idp}/_emulator/outbox`);
        url.searchParams.set('username', username);
        const resp = await fetch(url);
        if (!resp.ok) throw new Error(`emulator outbox: HTTP ${resp.status}`);
        return (await resp.json()).messages;
      },
      /** stderr of each process so far, for failure reports. */
      logs: () => Object.fromEntries(procs.map((p) => [p.name, p.log])),
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

// The protected app of the browser tests: a small Node HTTP server that renders the
// identity headers the sidecar sent (SPEC §6) as a page a person can read, serves a
// public signed-out landing page, and echoes WebSocket messages at /ws (SPEC §5.6:
// upgrades pass through after authentication). It records every request and WebSocket
// handshake so tests can check what actually reached the app.

import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';

/** The path of the public page Cognito's /logout returns to (see stack.mjs). */
export const SIGNED_OUT_PATH = '/public/signed-out';
/** The WebSocket echo endpoint. */
export const WS_PATH = '/ws';

const STYLE = `body{font-family:system-ui,sans-serif;background:#f4f5f7;margin:0}
main{max-width:36rem;margin:3rem auto;background:#fff;padding:2rem;border-radius:8px;
box-shadow:0 1px 4px rgba(0,0,0,.15)}h1{font-size:1.4rem;margin-top:0}
dl{display:grid;grid-template-columns:8rem 1fr;gap:.4rem 1rem}dt{color:#555}dd{margin:0;
font-family:ui-monospace,monospace;word-break:break-all}a.button{display:inline-block;
margin-top:1.2rem;padding:.5rem 1rem;background:#ec7211;color:#fff;border-radius:4px;
text-decoration:none}`;

/** Escapes text for HTML element content (the values come from request headers). */
export function escapeHtml(raw) {
  return String(raw).replace(/[&<>"'`=/]/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title, body) {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>${STYLE}</style></head><body><main>${body}</main></body></html>
`;
}

function appPage(req) {
  const h = (name) => req.headers[name] ?? '';
  const user = h('x-forwarded-user');
  const rows = [
    ['User', 'user', user || '(anonymous)'],
    ['Email', 'email', h('x-forwarded-email')],
    ['Groups', 'groups', h('x-forwarded-groups')],
    ['Sub', 'sub', h('x-forwarded-sub')],
    ['Path', 'path', req.url],
  ]
    .map(([label, id, value]) => `<dt>${label}</dt><dd id="${id}">${escapeHtml(value)}</dd>`)
    .join('');
  return page(
    'Protected app',
    `<h1>Protected app</h1>
<p>Signed in as <strong id="signed-in-as">${escapeHtml(user || '(nobody)')}</strong></p>
<dl>${rows}</dl>
<a class="button" id="sign-out" href="/oauth2/sign_out">Sign out</a>`,
  );
}

function signedOutPage() {
  return page(
    'Signed out',
    `<h1 id="signed-out">You have signed out</h1>
<p>Your session has ended here and at Cognito.</p>
<a class="button" id="sign-in-again" href="/">Sign in again</a>`,
  );
}

/**
 * Starts the app on a free loopback port. `requests` and `wsHandshakes` grow with every
 * request and WebSocket handshake the app receives (method, url, headers).
 * @returns {Promise<{url: string, requests: object[], wsHandshakes: object[],
 *   close: () => Promise<void>}>}
 */
export async function startUpstream() {
  const requests = [];
  const wsHandshakes = [];
  const server = createServer((req, res) => {
    requests.push({ method: req.method, url: req.url, headers: { ...req.headers } });
    const path = new URL(req.url, 'http://upstream').pathname;
    const html = path === SIGNED_OUT_PATH ? signedOutPage() : appPage(req);
    // A page showing who is signed in must never be served from a cache after sign-out.
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
    });
    res.end(html);
  });
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1 << 20 });
  server.on('upgrade', (req, socket, head) => {
    if (new URL(req.url, 'http://upstream').pathname !== WS_PATH) {
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      wsHandshakes.push({ url: req.url, headers: { ...req.headers } });
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    wsHandshakes,
    async close() {
      for (const client of wss.clients) client.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

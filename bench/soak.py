#!/usr/bin/env python3
"""Soak helpers for cognito-sidecar (stdlib only; driven by bench/soak.sh).

Subcommands:
  upstream  --port P                 an echo app: JSON of the received request, WebSocket
                                     echo at /ws (HTTP/1.1 keep-alive, one thread per connection)
  tokens    --sidecar P --idp P      signs in through the hosted UI and prints
                                     {"cookie": "NAME=VALUE", "bearer": ACCESS_TOKEN} for wrk
  traffic   --sidecar P --idp P --duration S --out FILE
                                     the traffic wrk cannot make: full sign-ins and sign-outs,
                                     WebSockets with a session, a long-lived session that is
                                     refreshed by the sidecar, and anonymous requests that must
                                     be refused. Every answer is checked; any surprise counts
                                     as a failure and makes the exit status 1.
  summary   --samples CSV --warmup S  the RSS / open-fd curve: start, after warm-up, end,
                                     slope; exit 1 if it is not flat after warm-up.

The sidecar's public_url is http://localhost:PORT; every connection goes to 127.0.0.1
with an explicit Host header so the machine's resolver (::1 first) plays no part.
"""

import argparse
import base64
import hashlib
import html
import http.client
import json
import os
import random
import re
import socket
import statistics
import struct
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

COOKIE = "_cognito_sidecar"
CLIENT = "local-client"
SECRET = "local-secret"
PASSWORD = "Passw0rd!"
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


# ---------------------------------------------------------------- upstream app


class EchoHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body are written separately; without this, Nagle's algorithm and the
    # peer's delayed ACK add ~40 ms to every response.
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def _body(self):
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length else b""

    def _echo(self):
        received = self._body()
        if self.path == "/ws" and self.headers.get("upgrade", "").lower() == "websocket":
            self._websocket()
            return
        body = json.dumps(
            {
                "method": self.command,
                "uri": self.path,
                "headers": [[k, v] for k, v in self.headers.items()],
                "body_bytes": len(received),
            }
        ).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _echo

    def _websocket(self):
        key = self.headers.get("sec-websocket-key", "")
        accept = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
        self.send_response(101)
        self.send_header("upgrade", "websocket")
        self.send_header("connection", "upgrade")
        self.send_header("sec-websocket-accept", accept)
        self.end_headers()
        self.wfile.flush()
        while True:
            frame = read_frame(self.rfile)
            if frame is None:
                break
            opcode, payload = frame
            if opcode == 8:
                write_frame(self.wfile, 8, payload, mask=False)
                break
            if opcode in (1, 2):
                write_frame(self.wfile, opcode, payload, mask=False)
        self.close_connection = True


def serve_upstream(port):
    server = ThreadingHTTPServer(("127.0.0.1", port), EchoHandler)
    server.daemon_threads = True
    server.serve_forever()


# ---------------------------------------------------------------- WebSocket frames (RFC 6455 §5.2)


def read_exact(f, n):
    data = b""
    while len(data) < n:
        chunk = f.read(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def read_frame(f):
    head = read_exact(f, 2)
    if head is None:
        return None
    opcode = head[0] & 0x0F
    masked = head[1] & 0x80
    length = head[1] & 0x7F
    if length == 126:
        length = struct.unpack("!H", read_exact(f, 2) or b"\0\0")[0]
    elif length == 127:
        length = struct.unpack("!Q", read_exact(f, 8) or b"\0" * 8)[0]
    mask = read_exact(f, 4) if masked else None
    payload = read_exact(f, length) if length else b""
    if payload is None:
        return None
    if mask:
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return opcode, payload


def write_frame(f, opcode, payload, mask):
    head = bytes([0x80 | opcode])
    n = len(payload)
    bit = 0x80 if mask else 0
    if n < 126:
        head += bytes([bit | n])
    elif n < 65536:
        head += bytes([bit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([bit | 127]) + struct.pack("!Q", n)
    if mask:
        key = os.urandom(4)
        payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
        head += key
    f.write(head + payload)
    f.flush()


# ---------------------------------------------------------------- a browser stand-in


class Unexpected(Exception):
    """An answer the contract does not allow at this step."""


class Browser:
    """Cookie jars for the sidecar (localhost) and the emulator (127.0.0.1)."""

    def __init__(self, sidecar_port, idp_port):
        self.sp = sidecar_port
        self.ip = idp_port
        self.jars = {sidecar_port: {}, idp_port: {}}

    def app(self, path):
        return f"http://localhost:{self.sp}{path}"

    def request(self, method, url, headers=None, body=None, use_jar=True):
        u = urllib.parse.urlsplit(url)
        port = u.port or 80
        target = u.path + (f"?{u.query}" if u.query else "")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
        h = {"Host": u.netloc, "Connection": "close"}
        jar = self.jars.setdefault(port, {})
        if use_jar and jar:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in jar.items())
        h.update(headers or {})
        try:
            conn.request(method, target, body=body, headers=h)
            resp = conn.getresponse()
            data = resp.read()
        finally:
            conn.close()
        if use_jar:
            for line in resp.headers.get_all("set-cookie") or []:
                pair = line.split(";", 1)[0]
                name, _, value = pair.partition("=")
                if "max-age=0" in line.lower():
                    jar.pop(name.strip(), None)
                else:
                    jar[name.strip()] = value.strip()
        return resp.status, resp.headers, data

    def navigate(self, url):
        return self.request("GET", url, {"Accept": "text/html"})

    def session_cookie(self):
        jar = self.jars[self.sp]
        return f"{COOKIE}={jar[COOKIE]}" if COOKIE in jar else None


def expect(cond, what):
    if not cond:
        raise Unexpected(what)


def location(headers, base):
    return urllib.parse.urljoin(base, headers.get("location", ""))


def form_value(page, name):
    m = re.search(r'<input[^>]*name="%s"[^>]*value="([^"]*)"' % re.escape(name), page)
    return html.unescape(m.group(1)) if m else None


def sign_in(b, user, rd="/soak/landing"):
    """The browser flow: /oauth2/start → hosted UI → callback → rd. Returns the landing URL."""
    start = b.app(f"/oauth2/start?rd={urllib.parse.quote(rd, safe='')}")
    status, h, _ = b.navigate(start)
    expect(status == 302, f"start: {status}")
    url = location(h, start)
    for _ in range(6):
        status, h, body = b.navigate(url)
        if status == 200 and "/login" in url:
            csrf = form_value(body.decode("utf-8", "replace"), "_csrf")
            expect(csrf is not None, "no _csrf on the login page")
            form = urllib.parse.urlencode({"_csrf": csrf, "username": user, "password": PASSWORD})
            status, h, _ = b.request(
                "POST", url, {"Content-Type": "application/x-www-form-urlencoded"}, form.encode()
            )
            expect(status == 302, f"login POST: {status}")
        elif status != 302:
            raise Unexpected(f"sign-in hop {url.split('?')[0]}: {status}")
        nxt = location(h, url)
        if nxt == b.app(rd):
            expect(b.session_cookie() is not None, "no session cookie after the callback")
            return nxt
        url = nxt
    raise Unexpected("sign-in did not land")


def bearer_token(sidecar_port, idp_port, user):
    """An access token for `user` from the emulator (code + PKCE), as an API client gets one."""
    b = Browser(sidecar_port, idp_port)
    verifier = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    redirect_uri = b.app("/oauth2/callback")
    q = urllib.parse.urlencode(
        {
            "response_type": "code",
            "client_id": CLIENT,
            "redirect_uri": redirect_uri,
            "scope": "openid email profile",
            "state": "soak",
            "code_challenge_method": "S256",
            "code_challenge": challenge,
        }
    )
    url = f"http://127.0.0.1:{idp_port}/oauth2/authorize?{q}"
    status, h, _ = b.navigate(url)
    login = location(h, url)
    status, h, body = b.navigate(login)
    csrf = form_value(body.decode("utf-8", "replace"), "_csrf")
    form = urllib.parse.urlencode({"_csrf": csrf, "username": user, "password": PASSWORD})
    status, h, _ = b.request(
        "POST", login, {"Content-Type": "application/x-www-form-urlencoded"}, form.encode()
    )
    cb = urllib.parse.urlsplit(location(h, login))
    code = urllib.parse.parse_qs(cb.query)["code"][0]
    basic = base64.b64encode(f"{CLIENT}:{SECRET}".encode()).decode()
    form = urllib.parse.urlencode(
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        }
    )
    status, _, body = b.request(
        "POST",
        f"http://127.0.0.1:{idp_port}/oauth2/token",
        {"Content-Type": "application/x-www-form-urlencoded", "Authorization": f"Basic {basic}"},
        form.encode(),
        use_jar=False,
    )
    expect(status == 200, f"token endpoint: {status}")
    return json.loads(body)["access_token"]


def websocket_echo(b, messages):
    """Opens /ws through the sidecar with the browser's session and echoes `messages`."""
    key = base64.b64encode(os.urandom(16)).decode()
    sock = socket.create_connection(("127.0.0.1", b.sp), timeout=15)
    try:
        head = (
            f"GET /ws HTTP/1.1\r\nHost: localhost:{b.sp}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Origin: http://localhost:{b.sp}\r\nCookie: {b.session_cookie()}\r\n\r\n"
        )
        sock.sendall(head.encode())
        f = sock.makefile("rwb")
        status_line = f.readline()
        expect(b" 101 " in status_line, f"websocket handshake: {status_line[:40]!r}")
        while f.readline() not in (b"\r\n", b""):
            pass
        for text in messages:
            write_frame(f, 1, text.encode(), mask=True)
            frame = read_frame(f)
            expect(frame == (1, text.encode()), "websocket echo differs")
        write_frame(f, 8, struct.pack("!H", 1000), mask=True)
        read_frame(f)
    finally:
        sock.close()


# ---------------------------------------------------------------- traffic


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.ok = {}
        self.failures = {}
        self.examples = []

    def record(self, kind, error=None):
        with self.lock:
            if error is None:
                self.ok[kind] = self.ok.get(kind, 0) + 1
            else:
                self.failures[kind] = self.failures.get(kind, 0) + 1
                if len(self.examples) < 20:
                    self.examples.append(f"{time.strftime('%H:%M:%S')} {kind}: {error}")


def run_loop(tally, kind, deadline, period, step):
    while time.time() < deadline:
        started = time.time()
        try:
            step()
            tally.record(kind)
        except Exception as e:  # every surprise is a failure, with its reason
            tally.record(kind, f"{type(e).__name__}: {e}")
        time.sleep(max(0.0, period - (time.time() - started)))


def traffic(args):
    sp, ip = args.sidecar, args.idp
    deadline = time.time() + args.duration
    tally = Tally()
    users = ["alice", "bob"]

    def full_sign_in():
        b = Browser(sp, ip)
        user = random.choice(users)
        landed = sign_in(b, user)
        status, _, body = b.request("GET", landed, {"Accept": "application/json"})
        expect(status == 200, f"landing: {status}")
        seen = dict((k.lower(), v) for k, v in json.loads(body)["headers"])
        expect(seen.get("x-forwarded-user") == user, "identity header missing")
        if random.random() < 0.5:
            out = b.app("/oauth2/sign_out")
            status, h, _ = b.navigate(out)
            expect(status == 302, f"sign_out: {status}")
            expect(b.session_cookie() is None, "session cookie survived sign-out")
            logout = location(h, out)
            status, h, _ = b.navigate(logout)
            expect(status == 302 and location(h, logout) == b.app("/"), "Cognito /logout")

    ws_browser = Browser(sp, ip)
    sign_in(ws_browser, "alice")

    def websocket():
        websocket_echo(ws_browser, [f"soak {time.time()}", "x" * 2000, "bye"])

    # Tokens of this session expire every few minutes (emulator config); the sidecar
    # refreshes them and the jar takes the re-sealed cookie, as a browser would.
    long_lived = Browser(sp, ip)
    sign_in(long_lived, "bob")

    def long_session():
        status, _, body = long_lived.request("GET", long_lived.app("/app/long"), {"Accept": "application/json"})
        expect(status == 200, f"long-lived session: {status}")
        seen = dict((k.lower(), v) for k, v in json.loads(body)["headers"])
        expect(seen.get("x-forwarded-user") == "bob", "long-lived identity")

    anonymous = Browser(sp, ip)

    def refused():
        status, h, _ = anonymous.request("GET", anonymous.app("/api/x"), {"Accept": "application/json"}, use_jar=False)
        expect(status == 401 and h.get("www-authenticate") == "Bearer", f"anonymous API: {status}")
        status, h, _ = anonymous.request("GET", anonymous.app("/page"), {"Accept": "text/html"}, use_jar=False)
        expect(status == 302 and "/oauth2/authorize" in h.get("location", ""), f"navigation: {status}")
        status, _, _ = anonymous.request(
            "GET", anonymous.app("/api/x"), {"Authorization": "Bearer e30.e30.x"}, use_jar=False
        )
        expect(status == 401, f"forged bearer: {status}")
        status, _, _ = anonymous.request(
            "GET", anonymous.app("/api/x"), {"Cookie": f"{COOKIE}=v1.forged", "Accept": "application/json"}, use_jar=False
        )
        expect(status == 401, f"forged cookie: {status}")

    loops = [
        ("sign_in", args.signin_period, full_sign_in),
        ("websocket", 1.0, websocket),
        ("long_session", 1.0, long_session),
        ("refused", 0.25, refused),
    ]
    threads = [
        threading.Thread(target=run_loop, args=(tally, k, deadline, p, f), daemon=True)
        for k, p, f in loops
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    report = {"ok": tally.ok, "failures": tally.failures, "examples": tally.examples}
    with open(args.out, "w") as f:
        json.dump(report, f, indent=2)
    print(json.dumps(report, indent=2))
    return 1 if tally.failures else 0


def tokens(args):
    b = Browser(args.sidecar, args.idp)
    sign_in(b, "alice")
    print(json.dumps({"cookie": b.session_cookie(), "bearer": bearer_token(args.sidecar, args.idp, "bob")}))
    return 0


# ---------------------------------------------------------------- the curve


def summary(args):
    rows = []
    with open(args.samples) as f:
        for line in f:
            parts = line.strip().split(",")
            if len(parts) >= 3 and parts[0].isdigit():
                rows.append((int(parts[0]), int(parts[1]), int(parts[2])))
    if len(rows) < 5:
        print(f"too few samples ({len(rows)})")
        return 1
    t0 = rows[0][0]
    rows = [(t - t0, rss, fds) for t, rss, fds in rows]

    def window(lo, hi):
        sel = [r for r in rows if lo <= r[0] <= hi] or rows[-1:]
        return statistics.median(r[1] for r in sel), statistics.median(r[2] for r in sel)

    end_t = rows[-1][0]
    start = (rows[0][1], rows[0][2])
    warm = window(args.warmup, args.warmup + 10)
    end = window(end_t - 10, end_t)
    after = [r for r in rows if r[0] >= args.warmup]
    peak = max(r[1] for r in after) if after else rows[-1][1]
    slope = 0.0
    if len(after) > 2:
        xs = [r[0] for r in after]
        ys = [r[1] for r in after]
        mx, my = statistics.mean(xs), statistics.mean(ys)
        den = sum((x - mx) ** 2 for x in xs) or 1
        slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den * 60  # KiB per minute
    lines = [
        f"samples: {len(rows)} over {end_t}s (warm-up {args.warmup}s)",
        f"RSS  start {start[0] / 1024:.1f} MiB, after warm-up {warm[0] / 1024:.1f} MiB, end {end[0] / 1024:.1f} MiB, peak after warm-up {peak / 1024:.1f} MiB, slope {slope:+.0f} KiB/min",
        f"fds  start {start[1]:.0f}, after warm-up {warm[1]:.0f}, end {end[1]:.0f}, max after warm-up {max((r[2] for r in after), default=0)}",
    ]
    # Minute-by-minute medians: the curve in a few lines.
    minute = 60 if end_t >= 180 else 10
    curve = []
    for lo in range(0, end_t + 1, minute):
        sel = [r for r in rows if lo <= r[0] < lo + minute]
        if sel:
            curve.append(f"{lo:>4}s {statistics.median(r[1] for r in sel) / 1024:7.1f} MiB {statistics.median(r[2] for r in sel):5.0f} fds")
    print("\n".join(lines + ["curve (median per window):"] + curve))
    growth = end[0] - warm[0]
    allowed = max(warm[0] * args.rss_tolerance, 4096)
    flat_rss = growth <= allowed
    flat_fds = end[1] - warm[1] <= args.fd_tolerance
    print(f"RSS growth after warm-up: {growth / 1024:+.1f} MiB (allowed {allowed / 1024:.1f}): {'flat' if flat_rss else 'GROWING'}")
    print(f"fd growth after warm-up: {end[1] - warm[1]:+.0f} (allowed {args.fd_tolerance}): {'flat' if flat_fds else 'GROWING'}")
    return 0 if flat_rss and flat_fds else 1


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    u = sub.add_parser("upstream")
    u.add_argument("--port", type=int, required=True)
    for name in ("tokens", "traffic"):
        s = sub.add_parser(name)
        s.add_argument("--sidecar", type=int, required=True)
        s.add_argument("--idp", type=int, required=True)
        if name == "traffic":
            s.add_argument("--duration", type=int, required=True)
            s.add_argument("--out", required=True)
            s.add_argument("--signin-period", type=float, default=1.0)
    s = sub.add_parser("summary")
    s.add_argument("--samples", required=True)
    s.add_argument("--warmup", type=int, required=True)
    s.add_argument("--rss-tolerance", type=float, default=0.05)
    s.add_argument("--fd-tolerance", type=int, default=8)
    args = p.parse_args()
    if args.cmd == "upstream":
        serve_upstream(args.port)
        return 0
    return {"tokens": tokens, "traffic": traffic, "summary": summary}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())

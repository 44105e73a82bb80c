#!/usr/bin/env python3
"""Signs in through the sidecar and the local emulator's hosted UI (plain HTTP, like a
browser), then prints two lines for the benchmark rows:
  COOKIE <the sidecar's session Cookie header value>
  BEARER <an access token of the same user, straight from the emulator>

usage: signin.py SIDECAR_URL EMULATOR_URL USER PASSWORD CLIENT SECRET
"""
import base64
import hashlib
import http.cookiejar
import json
import re
import sys
import urllib.parse
import urllib.request


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def opener(jar):
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect())


def fetch(op, url, data=None, headers=None):
    req = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        resp = op.open(req, timeout=10)
    except urllib.error.HTTPError as e:  # 3xx arrive here with NoRedirect
        resp = e
    return resp.status, resp.headers, resp.read().decode("utf-8", "replace")


def follow_login(op, start, user, password):
    """GET start, follow redirects to the hosted UI form, post it, return the callback URL."""
    url = start
    for _ in range(6):
        status, headers, body = fetch(op, url, headers={"Accept": "text/html"})
        if status in (301, 302, 303):
            url = urllib.parse.urljoin(url, headers["Location"])
            continue
        break
    csrf = re.search(r'name="_csrf" value="([^"]*)"', body).group(1)
    form = urllib.parse.urlencode({"_csrf": csrf, "username": user, "password": password}).encode()
    status, headers, _ = fetch(op, url, data=form)
    assert status == 302, f"login answered {status}"
    return urllib.parse.urljoin(url, headers["Location"])


def main():
    sidecar, emulator, user, password, client, secret = sys.argv[1:7]
    jar = http.cookiejar.CookieJar()
    op = opener(jar)
    callback = follow_login(op, sidecar + "/bench-signin", user, password)
    status, _, _ = fetch(op, callback)
    assert status == 302, f"callback answered {status}"
    host = urllib.parse.urlparse(sidecar).hostname
    cookie = "; ".join(f"{c.name}={c.value}" for c in jar if c.name.startswith("_cognito_sidecar") and c.domain.lstrip(".") in (host, host + ".local"))
    print("COOKIE", cookie)

    # An access token for API clients: authorization code with PKCE straight at the IdP.
    verifier = "b" * 43
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    redirect = sidecar + "/oauth2/callback"
    authorize = emulator + "/oauth2/authorize?" + urllib.parse.urlencode({
        "response_type": "code", "client_id": client, "redirect_uri": redirect,
        "scope": "openid email profile", "state": "bench",
        "code_challenge_method": "S256", "code_challenge": challenge})
    # The hosted-UI session from the sign-in above makes this authorize silent.
    status, headers, _ = fetch(op, authorize)
    location = urllib.parse.urljoin(authorize, headers["Location"])
    code = urllib.parse.parse_qs(urllib.parse.urlparse(location).query)["code"][0]
    basic = base64.b64encode(f"{client}:{secret}".encode()).decode()
    form = urllib.parse.urlencode({"grant_type": "authorization_code", "code": code,
                                   "redirect_uri": redirect, "code_verifier": verifier}).encode()
    status, _, body = fetch(op, emulator + "/oauth2/token", data=form,
                            headers={"Authorization": "Basic " + basic,
                                     "Content-Type": "application/x-www-form-urlencoded"})
    assert status == 200, f"token endpoint answered {status}: {body}"
    print("BEARER", json.loads(body)["access_token"])


if __name__ == "__main__":
    main()

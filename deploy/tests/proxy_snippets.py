"""Structure checks of the Envoy and Traefik forward-auth snippets (no Envoy or Traefik
binary installs here; nginx's snippet is checked by `nginx -t` in deploy/check.sh):
every referenced cluster, service and middleware exists, the check goes to the
sidecar's /oauth2/auth, the identity headers come back, and the sidecar's own
endpoints are not themselves behind the check.

    python proxy_snippets.py --envoy deploy/envoy/envoy.yaml --traefik deploy/traefik/dynamic.yml
"""

import argparse
import sys

import yaml

IDENTITY = ["x-forwarded-user", "x-forwarded-email", "x-forwarded-groups", "x-forwarded-sub"]
EXT_AUTHZ = "envoy.filters.http.ext_authz"


def walk(node):
    """Every mapping inside `node`, depth first."""
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from walk(v)


def exact_patterns(matcher):
    return [p.get("exact", "").lower() for p in (matcher or {}).get("patterns") or []]


def envoy_problems(config):
    out = []
    clusters = {c["name"] for c in (config.get("static_resources") or {}).get("clusters") or []}
    for m in walk(config):
        t = m.get("@type")
        if t is not None and not str(t).startswith("type.googleapis.com/envoy."):
            out.append(f"unexpected @type {t}")
        if isinstance(m.get("route"), dict) and "cluster" in m["route"]:
            if m["route"]["cluster"] not in clusters:
                out.append(f"route to unknown cluster {m['route']['cluster']}")
    filters = [m for m in walk(config) if m.get("name") == EXT_AUTHZ and "typed_config" in m]
    if len(filters) != 1:
        return out + [f"expected one {EXT_AUTHZ} filter, found {len(filters)}"]
    authz = filters[0]["typed_config"]
    svc = authz.get("http_service") or {}
    if (svc.get("server_uri") or {}).get("cluster") not in clusters:
        out.append("ext_authz server_uri.cluster is not a defined cluster")
    if svc.get("path_prefix") != "/oauth2/auth":
        out.append("ext_authz path_prefix must be /oauth2/auth")
    if authz.get("failure_mode_allow") is not False:
        out.append("ext_authz failure_mode_allow must be false (fail closed)")
    if "cookie" not in exact_patterns(authz.get("allowed_headers")):
        out.append("ext_authz must pass the cookie header (sessions)")
    upstream = exact_patterns((svc.get("authorization_response") or {}).get("allowed_upstream_headers"))
    missing = [h for h in IDENTITY if h not in upstream]
    if missing:
        out.append(f"ext_authz allowed_upstream_headers lacks {missing}")
    own = [
        m for m in walk(config)
        if (m.get("match") or {}).get("prefix") == "/oauth2/" and "route" in m
    ]
    disabled = [
        m for m in own
        if ((m.get("typed_per_filter_config") or {}).get(EXT_AUTHZ) or {}).get("disabled") is True
    ]
    if not own or len(disabled) != len(own):
        out.append("the /oauth2/ route must go to the sidecar with ext_authz disabled")
    return out


def traefik_problems(config):
    http = config.get("http") or {}
    middlewares = http.get("middlewares") or {}
    services = http.get("services") or {}
    out = []
    for name, router in (http.get("routers") or {}).items():
        if router.get("service") not in services:
            out.append(f"router {name}: unknown service {router.get('service')}")
        for mw in router.get("middlewares") or []:
            if mw not in middlewares:
                out.append(f"router {name}: unknown middleware {mw}")
    forward = [m["forwardAuth"] for m in middlewares.values() if "forwardAuth" in m]
    if len(forward) != 1:
        return out + ["expected one forwardAuth middleware"]
    if not str(forward[0].get("address", "")).endswith("/oauth2/auth"):
        out.append("forwardAuth address must be the sidecar's /oauth2/auth")
    headers = [h.lower() for h in forward[0].get("authResponseHeaders") or []]
    missing = [h for h in IDENTITY if h not in headers]
    if missing:
        out.append(f"forwardAuth authResponseHeaders lacks {missing}")
    for name, m in middlewares.items():
        errors = m.get("errors")
        if errors and not str(errors.get("query", "")).startswith("/oauth2/start?rd="):
            out.append(f"middleware {name}: errors.query must start sign-in at /oauth2/start?rd=")
    own = [r for r in (http.get("routers") or {}).values() if "PathPrefix(`/oauth2/`)" in r.get("rule", "")]
    if not own or any(r.get("middlewares") for r in own):
        out.append("a router must send /oauth2/ to the sidecar without the check")
    return out


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envoy", required=True)
    parser.add_argument("--traefik", required=True)
    args = parser.parse_args(argv)
    found = []
    for path, check in ((args.envoy, envoy_problems), (args.traefik, traefik_problems)):
        with open(path, encoding="utf-8") as f:
            found += [f"{path}: {p}" for p in check(yaml.safe_load(f))]
    for p in found:
        print(p)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

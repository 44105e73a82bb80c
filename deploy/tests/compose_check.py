"""Checks the docker-compose stacks beyond `docker-compose config`: the app is reachable
only through the sidecar, containers are hardened, and — for the emulator stack — the
sidecar's config and the emulator's agree on the one origin both the browser and the
sidecar use (SPEC §9), which a running emulator then confirms in its discovery document.

    python compose_check.py --resolved RESOLVED.yaml [--sidecar-config C --emulator-config E
                            [--binary target/debug/cognito-sidecar]]
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from urllib.parse import urlsplit

import yaml


def port_pairs(service):
    """(published, target) of each port, from the long or the short syntax
    (`[IP:]PUBLISHED:TARGET[/PROTO]`; docker-compose v1 prints host-IP ports short)."""
    out = []
    for p in service.get("ports") or []:
        if isinstance(p, dict):
            out.append((str(p.get("published")), str(p.get("target"))))
        else:
            fields = str(p).split("/")[0].split(":")
            out.append((fields[-2] if len(fields) > 1 else "", fields[-1]))
    return out


def service_problems(resolved):
    """Isolation and hardening of a resolved (`docker-compose config`) stack."""
    out = []
    services = resolved.get("services") or {}
    networks = resolved.get("networks") or {}
    if "sidecar" not in services or "app" not in services:
        return ["needs services `sidecar` and `app`"]
    app = services["app"]
    if app.get("ports"):
        out.append("app: must publish no port (reachable only through the sidecar)")
    for net in app.get("networks") or {}:
        if not (networks.get(net) or {}).get("internal"):
            out.append(f"app: network {net} must be internal")
    if not any(target == "4180" for _, target in port_pairs(services["sidecar"])):
        out.append("sidecar: must publish 4180")
    for name, svc in services.items():
        if not svc.get("read_only"):
            out.append(f"{name}: read_only must be true")
        if "ALL" not in (svc.get("cap_drop") or []):
            out.append(f"{name}: cap_drop must include ALL")
        if svc.get("privileged"):
            out.append(f"{name}: must not be privileged")
    return out


def origin(url):
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def emulator_problems(resolved, sidecar, emulator):
    """The sidecar config, the emulator config and the stack agree."""
    out = []
    services = resolved.get("services") or {}
    if (services.get("emulator") or {}).get("network_mode") != "service:sidecar":
        out.append("emulator: must share the sidecar's network namespace (network_mode: service:sidecar)")
    base = emulator.get("base_url", "")
    cognito = sidecar.get("cognito") or {}
    if origin(cognito.get("domain", "")) != base:
        out.append(f"sidecar cognito.domain {cognito.get('domain')} is not the emulator's base_url {base}")
    expected_issuer = f"{base}/{emulator.get('user_pool_id')}"
    if cognito.get("issuer") != expected_issuer:
        out.append(f"sidecar cognito.issuer must be {expected_issuer}")
    if cognito.get("user_pool_id") != emulator.get("user_pool_id"):
        out.append("sidecar and emulator user_pool_id differ")
    clients = {c.get("client_id"): c for c in emulator.get("clients") or []}
    client = clients.get(cognito.get("client_id"))
    if client is None:
        return out + [f"emulator has no client {cognito.get('client_id')}"]
    if client.get("client_secret") != cognito.get("client_secret"):
        out.append("sidecar client_secret is not the emulator client's")
    public = sidecar.get("public_url", "").rstrip("/")
    if f"{public}/oauth2/callback" not in (client.get("callback_urls") or []):
        out.append(f"emulator client lacks callback URL {public}/oauth2/callback")
    if f"{public}/" not in (client.get("logout_urls") or []):
        out.append(f"emulator client lacks sign-out URL {public}/")
    published = {pub for pub, _ in port_pairs(services.get("sidecar") or {})}
    for url in (base, public):
        port = str(urlsplit(url).port)
        if port not in published:
            out.append(f"port {port} of {url} is not published by the sidecar service")
    return out


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def live_issuer(binary, emulator):
    """Runs the emulator config on a loopback port and returns its discovery `issuer`."""
    config = dict(emulator, listen=f"127.0.0.1:{free_port()}")
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        yaml.safe_dump(config, f)
    proc = subprocess.Popen([binary, "emulator", "-c", f.name], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://{config['listen']}/{emulator['user_pool_id']}/.well-known/openid-configuration"
    try:
        deadline = time.time() + 20
        while time.time() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"emulator exited: {proc.stderr.read().decode()[:500]}")
            try:
                with urllib.request.urlopen(url, timeout=2) as resp:
                    return json.load(resp)["issuer"]
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("emulator did not answer within 20s")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        os.unlink(f.name)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolved", required=True)
    parser.add_argument("--sidecar-config")
    parser.add_argument("--emulator-config")
    parser.add_argument("--binary")
    args = parser.parse_args(argv)
    with open(args.resolved, encoding="utf-8") as f:
        resolved = yaml.safe_load(f)
    found = service_problems(resolved)
    if args.emulator_config:
        with open(args.sidecar_config, encoding="utf-8") as f:
            sidecar = yaml.safe_load(f)
        with open(args.emulator_config, encoding="utf-8") as f:
            emulator = yaml.safe_load(f)
        found += emulator_problems(resolved, sidecar, emulator)
        if args.binary and not found:
            issuer = live_issuer(args.binary, emulator)
            if issuer != sidecar["cognito"]["issuer"]:
                found.append(f"running emulator's issuer {issuer} != sidecar cognito.issuer")
            else:
                print(f"emulator discovery issuer: {issuer}")
    for p in found:
        print(f"{args.resolved}: {p}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

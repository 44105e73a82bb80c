"""A minimal Dockerfile lint for deploy/Dockerfile, on the syntax tree of BuildKit's own
parser (the `dockerfile` package from PyPI wraps it): multi-stage, the release build
is exactly CI's `cargo build --release --locked`, the runtime stage runs as a numeric
non-root user, exposes 4180, has no HEALTHCHECK and starts in exec form.

    python dockerfile_lint.py deploy/Dockerfile
"""

import sys

import dockerfile


def stages(commands):
    """The commands grouped by FROM."""
    out = []
    for cmd in commands:
        if cmd.cmd == "FROM":
            out.append([])
        if out:
            out[-1].append(cmd)
    return out


def problems(commands):
    out = []
    groups = stages(commands)
    if len(groups) < 2:
        return ["must be a multi-stage build (a build stage and a runtime stage)"]
    runs = " ".join(" ".join(c.value) for c in commands if c.cmd == "RUN")
    if "cargo build --release --locked" not in " ".join(runs.split()):
        out.append("the build must run `cargo build --release --locked` (what CI runs)")
    runtime = groups[-1]
    users = [c.value[0] for c in runtime if c.cmd == "USER"]
    if not users:
        out.append("runtime stage: no USER (it would run as root)")
    else:
        uid = users[-1].split(":")[0]
        if not uid.isdigit() or int(uid) == 0:
            out.append(f"runtime stage: USER {users[-1]} must be a numeric non-root uid (runAsNonRoot checks it)")
    exposed = {p.split("/")[0] for c in runtime if c.cmd == "EXPOSE" for p in c.value}
    if "4180" not in exposed:
        out.append("runtime stage: must EXPOSE 4180")
    if any(c.cmd == "HEALTHCHECK" for c in commands):
        out.append("no HEALTHCHECK: orchestrators probe /healthz and /readyz")
    entry = [c for c in runtime if c.cmd == "ENTRYPOINT"]
    if not entry or not entry[-1].json:
        out.append("runtime stage: ENTRYPOINT must be in exec (JSON) form; there is no shell")
    if any(c.cmd == "RUN" for c in runtime):
        out.append("runtime stage: RUN needs a shell, which the runtime image must not need")
    froms = [c.value[0] for c in commands if c.cmd == "FROM"]
    if any(f.endswith(":latest") or ":" not in f for f in froms if not f.startswith("$")):
        out.append(f"base images must be pinned to a tag: {froms}")
    return out


def main(argv):
    found = problems(dockerfile.parse_file(argv[0]))
    for p in found:
        print(f"{argv[0]}: {p}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

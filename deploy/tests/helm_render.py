"""Renders the Helm chart with Helm's own engine and lints it.

With a `helm` binary on PATH this is `helm lint --strict` and `helm template`. Without
one (Debian ships no Helm), it uses helm-python-sdk from PyPI, which embeds Helm's Go
SDK (the same template engine, Sprig functions and values.schema.json validation)
in a shared library — so either way the templates are rendered by Helm itself.

    python helm_render.py CHART --out FILE [--values FILE]... [--expect-invalid]
"""

import argparse
import os
import shutil
import subprocess
import sys

import yaml

RELEASE = "demo"
NAMESPACE = "demo"


def render_with_binary(helm, chart, values_files):
    lint = [helm, "lint", "--strict", chart] + [a for v in values_files for a in ("--values", v)]
    subprocess.run(lint, check=True, stdout=subprocess.DEVNULL)
    cmd = [helm, "template", RELEASE, chart, "--namespace", NAMESPACE]
    cmd += [a for v in values_files for a in ("--values", v)]
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def render_with_sdk(chart, values_files):
    import helm_python as helm

    report = helm.lint(chart)
    # Severity 1 is informational ("icon is recommended"); warnings and errors fail.
    bad = [m for m in report.get("messages", []) if m.get("severity", 0) >= 2]
    if report.get("errors") or bad:
        raise RuntimeError(f"helm lint: {report.get('errors') or bad}")
    values = {}
    for path in values_files:
        with open(path, encoding="utf-8") as f:
            values = merge(values, yaml.safe_load(f) or {})
    with helm.Chart.load(chart) as loaded:
        loaded.validate_schema(values)
        rendered = loaded.render(values, name=RELEASE, namespace=NAMESPACE)
    return "\n---\n".join(
        text for name, text in sorted(rendered.items()) if name.endswith(".yaml") and text.strip()
    )


def merge(base, override):
    """Helm's rule for several --values files: maps merge, everything else is replaced."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def render(chart, values_files):
    helm = shutil.which("helm")
    if helm:
        return render_with_binary(helm, chart, values_files)
    return render_with_sdk(chart, values_files)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chart")
    parser.add_argument("--out")
    parser.add_argument("--values", action="append", default=[])
    parser.add_argument("--expect-invalid", action="store_true",
                        help="succeed only if lint, schema or rendering rejects the values")
    args = parser.parse_args(argv)
    try:
        text = render(os.path.abspath(args.chart), args.values)
    except Exception as e:  # Helm's errors come as several exception types
        if args.expect_invalid:
            print("rejected as expected: " + " ".join(str(e).split())[:300])
            return 0
        print(f"helm: {e}")
        return 1
    if args.expect_invalid:
        print("helm accepted values that must be rejected")
        return 1
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"{args.out}: rendered with {'helm' if shutil.which('helm') else 'helm-python-sdk'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Validates rendered manifests against the Kubernetes OpenAPI schemas (strict: unknown
fields are errors) for every requested Kubernetes version, using kubernetes-validate.

Custom resources have no schema there; the kinds this repository ships (Prometheus
Operator PodMonitor, Traefik Middleware/IngressRoute) get a shape check instead, and
any other kind without a schema is an error — never a silent pass.

    python k8s_validate.py --version 1.30 --version 1.37 FILE...
"""

import argparse
import sys

import kubernetes_validate

import manifests

# apiVersion → kind → fields the spec must have.
CUSTOM_RESOURCES = {
    "monitoring.coreos.com/v1": {"PodMonitor": ["selector", "podMetricsEndpoints"]},
    "traefik.io/v1alpha1": {"Middleware": [], "IngressRoute": ["routes"]},
}


def custom_resource_problems(obj):
    """Shape problems of a custom resource, or None when its kind is not known here."""
    kinds = CUSTOM_RESOURCES.get(obj.get("apiVersion"), {})
    if obj.get("kind") not in kinds:
        return None
    problems = []
    if not obj.get("metadata", {}).get("name"):
        problems.append("metadata.name is missing")
    spec = obj.get("spec")
    if not isinstance(spec, dict) or not spec:
        return problems + ["spec is missing or empty"]
    for field in kinds[obj["kind"]]:
        if not spec.get(field):
            problems.append(f"spec.{field} is missing or empty")
    return problems


def problems_in(obj, versions):
    """Every schema problem of one manifest, for every version."""
    out = []
    for version in versions:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            crd = custom_resource_problems(obj)
            if crd is None:
                return [f"no Kubernetes {version} schema for {obj.get('apiVersion')} {obj.get('kind')}"]
            return crd
        except kubernetes_validate.ValidationError as e:
            where = ".".join(str(p) for p in e.path) or "(root)"
            out.append(f"Kubernetes {version}: {where}: {e.message}")
    return out


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="append", required=True)
    parser.add_argument("files", nargs="+")
    args = parser.parse_args(argv)
    failed = 0
    for path in args.files:
        objects = manifests.load(path)
        if not objects:
            print(f"{path}: no manifests")
            failed += 1
        for obj in objects:
            for problem in problems_in(obj, args.version):
                print(f"{path}: {manifests.name_of(obj)}: {problem}")
                failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

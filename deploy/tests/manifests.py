"""Reading Kubernetes manifests: multi-document YAML streams into a list of objects.

Shared by the deploy checks (deploy/check.sh); PyYAML comes with kubernetes-validate.
"""

import yaml


def load(path):
    """Every non-empty document of the YAML stream at `path`, in order."""
    with open(path, encoding="utf-8") as f:
        return [doc for doc in yaml.safe_load_all(f) if doc]


def dump(objects, path):
    """Writes `objects` as one YAML stream (what `kubectl apply -f` reads)."""
    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump_all(objects, f, sort_keys=False)


def name_of(obj):
    """`Kind/name` for messages."""
    return f"{obj.get('kind', '?')}/{obj.get('metadata', {}).get('name', '?')}"

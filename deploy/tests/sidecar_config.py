"""cognito-sidecar config files as deploy/check.sh hands them to `check-config`: the
`*_file` secrets are redirected to dummy files, so the check judges the deployment's
config and not whether its secret mounts exist on this machine.

    python sidecar_config.py OUT_DIR CONFIG...   # prints the rewritten copies' paths
"""

import os
import sys

import yaml

SECRET_KEYS = [("cognito", "client_secret_file"), ("session", "secret_file"), ("session", "secrets_file")]
# Valid stand-ins (the session secret must be base64 of 32 bytes).
DUMMY_SECRETS = {
    "client_secret_file": "dummy-client-secret\n",
    "secret_file": "3q2+7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
    "secrets_file": "3q2+7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
}


def secret_paths(config):
    """(section, key, path) of every `*_file` secret in a parsed config."""
    return [
        (section, key, config[section][key])
        for section, key in SECRET_KEYS
        if isinstance(config.get(section), dict) and key in config[section]
    ]


def write_for_check(name, text, out_dir):
    """Writes `text` (a config) as OUT_DIR/NAME.yaml with dummy secret files; its path."""
    os.makedirs(out_dir, exist_ok=True)
    config = yaml.safe_load(text) or {}
    for section, key, _ in secret_paths(config):
        dummy = os.path.join(out_dir, f"{name}.{section}.{key}")
        with open(dummy, "w", encoding="utf-8") as f:
            f.write(DUMMY_SECRETS[key])
        config[section][key] = dummy
    path = os.path.join(out_dir, f"{name}.yaml")
    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump(config, f, sort_keys=False)
    return path


def main(argv):
    out_dir, files = argv[0], argv[1:]
    for i, src in enumerate(files):
        with open(src, encoding="utf-8") as f:
            name = f"{i}-" + os.path.basename(src).replace(".yaml", "")
            print(write_for_check(name, f.read(), out_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

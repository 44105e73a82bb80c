"""The sidecar pattern's own rules on rendered manifests, beyond what schemas can say:
the sidecar's placement (native or classic), probes, hardening, the Service exposing
only the sidecar, the PodDisruptionBudget and NetworkPolicy, metrics scraping, and secrets mounted where
the config's `*_file` keys point.

It also writes every ConfigMap's config.yaml, with the secret paths replaced by dummy
files, so that `cognito-sidecar check-config` can validate them:

    python k8s_policy.py --mode native --configs-out DIR FILE
"""

import argparse
import sys

import yaml

import manifests
import sidecar_config

SIDECAR = "cognito-sidecar"


def hardening_problems(container):
    sc = container.get("securityContext") or {}
    name = container.get("name")
    out = []
    if sc.get("allowPrivilegeEscalation") is not False:
        out.append(f"container {name}: allowPrivilegeEscalation must be false")
    if sc.get("readOnlyRootFilesystem") is not True:
        out.append(f"container {name}: readOnlyRootFilesystem must be true")
    if sc.get("privileged"):
        out.append(f"container {name}: must not be privileged")
    if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
        out.append(f"container {name}: capabilities.drop must include ALL")
    if not (container.get("resources") or {}).get("requests"):
        out.append(f"container {name}: resources.requests missing")
    return out


def probe_path(container, kind):
    return ((container.get(kind) or {}).get("httpGet") or {}).get("path")


def sidecar_problems(pod, mode):
    """Where the sidecar runs and how it is probed."""
    init = [c for c in pod.get("initContainers") or [] if c.get("name") == SIDECAR]
    main = [c for c in pod.get("containers") or [] if c.get("name") == SIDECAR]
    if mode == "native":
        if len(init) != 1 or main:
            return ["native mode: the sidecar must be exactly one init container"], None
        sidecar = init[0]
        if sidecar.get("restartPolicy") != "Always":
            return ["native mode: the sidecar init container needs restartPolicy: Always"], sidecar
    else:
        if len(main) != 1 or init:
            return ["classic mode: the sidecar must be exactly one regular container"], None
        sidecar = main[0]
        if "restartPolicy" in sidecar:
            return ["classic mode: restartPolicy is only valid on init containers"], sidecar
    out = []
    if probe_path(sidecar, "livenessProbe") != "/healthz":
        out.append("sidecar: livenessProbe must GET /healthz")
    if probe_path(sidecar, "readinessProbe") != "/readyz":
        out.append("sidecar: readinessProbe must GET /readyz")
    if "http" not in [p.get("name") for p in sidecar.get("ports") or []]:
        out.append("sidecar: needs a container port named http")
    if len([c for c in pod.get("containers") or [] if c.get("name") != SIDECAR]) < 1:
        out.append("pod: no app container next to the sidecar")
    return out, sidecar


def pod_problems(pod):
    out = []
    sc = pod.get("securityContext") or {}
    if sc.get("runAsNonRoot") is not True:
        out.append("pod: securityContext.runAsNonRoot must be true")
    if (sc.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
        out.append("pod: seccompProfile must be RuntimeDefault")
    if pod.get("automountServiceAccountToken") is not False:
        out.append("pod: automountServiceAccountToken must be false")
    for c in (pod.get("initContainers") or []) + (pod.get("containers") or []):
        out.extend(hardening_problems(c))
    return out


def mounted_dirs(pod, container, volume_kind):
    """Mount paths of `container`'s volumes of the given kind (configMap, secret)."""
    kinds = {v["name"]: v for v in pod.get("volumes") or [] if volume_kind in v}
    return [m["mountPath"] for m in container.get("volumeMounts") or [] if m.get("name") in kinds]


def config_of(configmaps):
    out = {}
    for cm in configmaps:
        text = (cm.get("data") or {}).get("config.yaml")
        if text is not None:
            out[cm["metadata"]["name"]] = text
    return out


def selects(selector, labels):
    wanted = (selector or {}).get("matchLabels") or {}
    return bool(wanted) and all(labels.get(k) == v for k, v in wanted.items())


def check(objects, mode):
    """Every problem of one rendered deployment, and its sidecar configs by name."""
    problems = []
    deployments = [o for o in objects if o.get("kind") == "Deployment"]
    if len(deployments) != 1:
        return [f"expected one Deployment, found {len(deployments)}"], {}
    dep = deployments[0]
    pod = dep["spec"]["template"]["spec"]
    labels = dep["spec"]["template"].get("metadata", {}).get("labels") or {}
    problems += pod_problems(pod)
    found, sidecar = sidecar_problems(pod, mode)
    problems += found
    services = [o for o in objects if o.get("kind") == "Service"]
    if not services:
        problems.append("no Service")
    for svc in services:
        if not selects({"matchLabels": svc["spec"].get("selector")}, labels):
            problems.append(f"{manifests.name_of(svc)}: does not select the pods")
        targets = {p.get("targetPort") for p in svc["spec"].get("ports") or []}
        if targets != {"http"}:
            problems.append(f"{manifests.name_of(svc)}: must expose only the sidecar's http port, has {sorted(map(str, targets))}")
    pdbs = [o for o in objects if o.get("kind") == "PodDisruptionBudget"]
    if not any(selects(p["spec"].get("selector"), labels) for p in pdbs):
        problems.append("no PodDisruptionBudget selecting the pods")
    policies = [o for o in objects if o.get("kind") == "NetworkPolicy" and selects(o["spec"].get("podSelector"), labels)]
    if not policies:
        problems.append("no NetworkPolicy selecting the pods")
    for np in policies:
        ports = {str(p.get("port")) for rule in np["spec"].get("ingress") or [] for p in rule.get("ports") or []}
        if not ports or not ports <= {"http", "metrics"}:
            problems.append(f"{manifests.name_of(np)}: ingress must be limited to the http and metrics ports")
    annotations = dep["spec"]["template"].get("metadata", {}).get("annotations") or {}
    scraped = annotations.get("prometheus.io/scrape") == "true" or any(
        o.get("kind") == "PodMonitor" and selects(o["spec"].get("selector"), labels) for o in objects
    )
    if not scraped:
        problems.append("metrics: neither prometheus.io annotations nor a PodMonitor")
    configs = config_of([o for o in objects if o.get("kind") == "ConfigMap"])
    if not configs:
        problems.append("no ConfigMap with a config.yaml")
    if sidecar is not None:
        secret_dirs = mounted_dirs(pod, sidecar, "secret")
        for name, text in configs.items():
            config = yaml.safe_load(text) or {}
            for section, key, path in sidecar_config.secret_paths(config):
                if not any(path.startswith(d.rstrip("/") + "/") for d in secret_dirs):
                    problems.append(f"ConfigMap/{name}: {section}.{key} `{path}` is not in a mounted Secret")
            if not str(config.get("upstream", "")).startswith("http://127.0.0.1:"):
                problems.append(f"ConfigMap/{name}: upstream must be the app on 127.0.0.1")
    return problems, configs


def write_configs(configs, out_dir):
    """Each config, ready for check-config, under `out_dir`; their paths."""
    return [sidecar_config.write_for_check(name, text, out_dir) for name, text in configs.items()]


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["native", "classic"], required=True)
    parser.add_argument("--configs-out", required=True)
    parser.add_argument("file")
    args = parser.parse_args(argv)
    problems, configs = check(manifests.load(args.file), args.mode)
    for p in problems:
        print(f"{args.file}: {p}")
    for path in write_configs(configs, args.configs_out):
        print(path)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

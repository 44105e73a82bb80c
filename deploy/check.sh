#!/usr/bin/env bash
# Renders and validates every deployment file under deploy/ with real tools:
#   kustomize (kubectl kustomize) on the base and overlays, the Helm chart with Helm's
#   engine (helm, or helm-python-sdk without one) for default and custom values, all
#   manifests against the Kubernetes schemas (kubernetes-validate, strict, oldest and
#   newest supported versions) and the sidecar pattern's own rules, every sidecar
#   config with `cognito-sidecar check-config`, the compose files with
#   `docker-compose config`, the nginx snippet with `nginx -t`, the Dockerfile with
#   BuildKit's parser, and the Envoy/Traefik snippets' structure.
#
#   deploy/check.sh            # installs what it needs (apt-get, pip into target/)
#   CI=true deploy/check.sh    # same, but a tool that cannot be had is a failure
#
# Ends with `deploy: N passed, M failed`; exits non-zero on any failure.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
CI=${CI:-false}
# Native sidecars need 1.29 and the preStop sleep action 1.30; 1.37 is the newest
# schema set kubernetes-validate ships.
K8S_VERSIONS=(1.30 1.37)
VENV=${DEPLOY_CHECK_VENV:-$ROOT/target/deploy-check-venv}
BIN=$ROOT/target/debug/cognito-sidecar

PASSED=0
FAILED=0
SKIPPED=0
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# step NAME COMMAND...: runs one check, shows its output only when it fails.
step() {
    local name=$1
    shift
    if "$@" >"$WORK/step.log" 2>&1; then
        PASSED=$((PASSED + 1))
        echo "ok    $name"
    else
        FAILED=$((FAILED + 1))
        echo "FAIL  $name"
        sed 's/^/      /' "$WORK/step.log"
    fi
}

# into FILE COMMAND...: COMMAND with its standard output written to FILE.
into() {
    local out=$1
    shift
    "$@" >"$out"
}

# unavailable NAME WHY: a check whose tool could not be installed; fatal under CI.
unavailable() {
    if [ "$CI" = true ]; then
        FAILED=$((FAILED + 1))
        echo "FAIL  $1 ($2)"
    else
        SKIPPED=$((SKIPPED + 1))
        echo "skip  $1 ($2)"
    fi
}

APT_UPDATED=false
apt_install() {
    command -v apt-get >/dev/null || return 1
    [ "$(id -u)" = 0 ] || return 1
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >>"$WORK/apt.log" 2>&1; then
        [ "$APT_UPDATED" = true ] && return 1
        apt-get update >>"$WORK/apt.log" 2>&1 || return 1
        APT_UPDATED=true
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >>"$WORK/apt.log" 2>&1
    fi
}

# ensure COMMAND PACKAGE: the command, installing the Debian package if it is missing.
ensure() {
    command -v "$1" >/dev/null 2>&1 || apt_install "$2"
    command -v "$1" >/dev/null 2>&1
}

python_tools() {
    local stamp="$VENV/.requirements"
    if [ -x "$VENV/bin/python" ] && cmp -s "$HERE/tests/requirements.txt" "$stamp"; then
        return 0
    fi
    python3 -m venv "$VENV" || { apt_install python3-venv && python3 -m venv "$VENV"; } || return 1
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$HERE/tests/requirements.txt" || return 1
    cp "$HERE/tests/requirements.txt" "$stamp"
}

echo "deploy checks (CI=$CI)"

# --- tools ---------------------------------------------------------------------------
HAVE_PY=false
if python_tools >"$WORK/pip.log" 2>&1; then
    HAVE_PY=true
else
    sed 's/^/      /' "$WORK/pip.log" | tail -20
fi
PY="$VENV/bin/python"
# kubectl's built-in kustomize must be v4+ (`labels`, components); Debian's
# kubernetes-client (1.20, kustomize v2) is only a last resort and is refused if too old.
HAVE_KUSTOMIZE=false
if ensure kubectl kubernetes-client; then
    kustomize_major=$(kubectl version --client 2>/dev/null | sed -n 's/^Kustomize Version: v\([0-9]*\).*/\1/p')
    [ "${kustomize_major:-0}" -ge 4 ] && HAVE_KUSTOMIZE=true
fi
HAVE_COMPOSE=false
ensure docker-compose docker-compose && HAVE_COMPOSE=true
HAVE_NGINX=false
{ [ -x /usr/sbin/nginx ] || apt_install nginx; } && [ -x /usr/sbin/nginx ] && HAVE_NGINX=true
HAVE_BIN=false
if (cd "$ROOT" && cargo build --locked --quiet --bin cognito-sidecar) >"$WORK/cargo.log" 2>&1; then
    HAVE_BIN=true
else
    sed 's/^/      /' "$WORK/cargo.log" | tail -20
fi

# --- Dockerfile ----------------------------------------------------------------------
if $HAVE_PY; then
    step "Dockerfile: multi-stage, cargo build --release --locked, non-root USER, EXPOSE 4180" \
        "$PY" "$HERE/tests/dockerfile_lint.py" "$HERE/Dockerfile"
else
    unavailable "Dockerfile lint" "python tools did not install"
fi

# --- Kubernetes: render --------------------------------------------------------------
mkdir -p "$WORK/rendered" "$WORK/configs"
declare -A MODE=()
if $HAVE_KUSTOMIZE; then
    for target in base:native overlays/classic:classic overlays/example:native; do
        dir=${target%%:*}
        out="$WORK/rendered/kustomize-${dir//\//-}.yaml"
        step "kustomize: kubernetes/$dir" into "$out" kubectl kustomize "$HERE/kubernetes/$dir"
        [ -s "$out" ] && MODE[$out]=${target##*:}
    done
else
    unavailable "kustomize: kubernetes/base and overlays" "no kubectl with kustomize v4 or later"
fi
CHART="$HERE/helm/cognito-sidecar"
if $HAVE_PY; then
    step "helm: lint + template, default values" \
        "$PY" "$HERE/tests/helm_render.py" "$CHART" --out "$WORK/rendered/helm-default.yaml"
    [ -s "$WORK/rendered/helm-default.yaml" ] && MODE[$WORK/rendered/helm-default.yaml]=native
    step "helm: lint + template, ci/custom-values.yaml" \
        "$PY" "$HERE/tests/helm_render.py" "$CHART" --values "$CHART/ci/custom-values.yaml" \
        --out "$WORK/rendered/helm-custom.yaml"
    [ -s "$WORK/rendered/helm-custom.yaml" ] && MODE[$WORK/rendered/helm-custom.yaml]=classic
    printf 'cognito:\n  userPoolID: typo\n' >"$WORK/typo-values.yaml"
    step "helm: values.schema.json rejects an unknown key" \
        "$PY" "$HERE/tests/helm_render.py" "$CHART" --values "$WORK/typo-values.yaml" --expect-invalid
    printf 'sidecar:\n  mode: sideways\n' >"$WORK/mode-values.yaml"
    step "helm: values.schema.json rejects sidecar.mode sideways" \
        "$PY" "$HERE/tests/helm_render.py" "$CHART" --values "$WORK/mode-values.yaml" --expect-invalid
else
    unavailable "helm: render chart" "python tools did not install"
fi

# --- Kubernetes: validate ------------------------------------------------------------
if $HAVE_PY; then
    versions=()
    for v in "${K8S_VERSIONS[@]}"; do versions+=(--version "$v"); done
    while IFS= read -r out; do
        label=$(basename "$out" .yaml)
        step "schemas ${K8S_VERSIONS[*]}: $label" "$PY" "$HERE/tests/k8s_validate.py" "${versions[@]}" "$out"
        step "sidecar pattern (${MODE[$out]}): $label" \
            "$PY" "$HERE/tests/k8s_policy.py" --mode "${MODE[$out]}" --configs-out "$WORK/configs/$label" "$out"
    done < <(printf '%s\n' "${!MODE[@]}" | sort)
    step "schemas ${K8S_VERSIONS[*]}: kubernetes/secret.example.yaml, traefik/kubernetes.yaml" \
        "$PY" "$HERE/tests/k8s_validate.py" "${versions[@]}" \
        "$HERE/kubernetes/secret.example.yaml" "$HERE/traefik/kubernetes.yaml"
    if [ -s "$WORK/rendered/kustomize-base.yaml" ]; then
        step "the checks reject broken copies (unittest)" \
            env DEPLOY_RENDERED_BASE="$WORK/rendered/kustomize-base.yaml" PYTHONPATH="$HERE/tests" \
            "$PY" -m unittest -q test_checks
    else
        unavailable "the checks reject broken copies" "no rendered kustomize base"
    fi
fi

# --- sidecar configs: check-config ---------------------------------------------------
if $HAVE_BIN && $HAVE_PY; then
    "$PY" "$HERE/tests/sidecar_config.py" "$WORK/configs/files" \
        "$HERE/compose/config.yaml" "$HERE/compose/config.cognito.yaml" \
        "$HERE/nginx/sidecar.config.yaml" >/dev/null
    while IFS= read -r config; do
        label=${config#"$WORK/configs/"}
        # A clean environment: no COGNITO_SIDECAR_* override may change the verdict.
        step "check-config: $label" env -i PATH="$PATH" "$BIN" check-config -c "$config"
    done < <(find "$WORK/configs" -name '*.yaml' | sort)
else
    unavailable "check-config on every sidecar config" "no cognito-sidecar binary or python tools"
fi

# --- docker-compose ------------------------------------------------------------------
if $HAVE_COMPOSE; then
    step "docker-compose config: docker-compose.yml" \
        into "$WORK/compose-emulator.yaml" docker-compose -f "$HERE/docker-compose.yml" config
    step "docker-compose config: docker-compose.cognito.yml" \
        into "$WORK/compose-cognito.yaml" docker-compose --env-file "$HERE/compose/cognito.env.example" \
        -f "$HERE/docker-compose.cognito.yml" config
    if $HAVE_PY && $HAVE_BIN && [ -s "$WORK/compose-emulator.yaml" ]; then
        step "compose (emulator): app isolated, configs agree, live emulator issuer matches" \
            "$PY" "$HERE/tests/compose_check.py" --resolved "$WORK/compose-emulator.yaml" \
            --sidecar-config "$HERE/compose/config.yaml" --emulator-config "$HERE/compose/emulator.yaml" \
            --binary "$BIN"
    fi
    if $HAVE_PY && [ -s "$WORK/compose-cognito.yaml" ]; then
        step "compose (real Cognito): app isolated, containers hardened" \
            "$PY" "$HERE/tests/compose_check.py" --resolved "$WORK/compose-cognito.yaml"
    fi
else
    unavailable "docker-compose config" "docker-compose could not be installed"
fi

# --- forward-auth snippets -----------------------------------------------------------
if $HAVE_NGINX; then
    mkdir -p "$WORK/nginx/tmp"
    cp "$HERE/nginx/nginx.conf" "$HERE/nginx/cognito-sidecar.conf" "$WORK/nginx/"
    step "nginx -t: nginx/cognito-sidecar.conf" /usr/sbin/nginx -t -q -e stderr -p "$WORK/nginx" -c nginx.conf
else
    unavailable "nginx -t" "nginx could not be installed"
fi
if $HAVE_PY; then
    step "envoy/envoy.yaml and traefik/dynamic.yml: structure" \
        "$PY" "$HERE/tests/proxy_snippets.py" --envoy "$HERE/envoy/envoy.yaml" --traefik "$HERE/traefik/dynamic.yml"
fi

if [ "$SKIPPED" -gt 0 ]; then
    echo "deploy: $PASSED passed, $FAILED failed, $SKIPPED skipped"
else
    echo "deploy: $PASSED passed, $FAILED failed"
fi
[ "$FAILED" -eq 0 ]

#!/usr/bin/env bash
# Soak test: mixed traffic through a real cognito-sidecar for a fixed time while its RSS
# and open file descriptors are sampled once a second.
#
#   bench/soak.sh [--smoke] [--duration SECONDS] [--warmup SECONDS] [--connections N]
#                 [--delay-ms MS] [--out DIR]
#
# Traffic: wrk (bench/mix.lua) sends session-cookie, bearer, public, userinfo and
# forward-auth requests that must all be 2xx; bench/soak.py adds full hosted-UI sign-ins
# and sign-outs, WebSockets with a session, a long-lived session that the sidecar keeps
# refreshing (tokens live 2 minutes), and anonymous or forged requests that must be
# refused (401/302). The IdP is the built-in emulator; the upstream is an echo app.
#
# Pass: no request failed other than by design, the sidecar exits 0 on SIGTERM, and RSS
# and fds are flat after warm-up (bench/soak.py summary). --smoke runs 30 s for CI.
# Needs: python3, wrk (./test.sh installs it), and a built binary (cargo build);
# SOAK_SIDECAR_BIN overrides which binary is used (not COGNITO_SIDECAR_*: the sidecar
# reads every such variable as a config override).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
duration=600
warmup=60
connections=8
delay_ms=10
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) duration=30; warmup=10; shift ;;
    --duration) duration="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --connections) connections="$2"; shift 2 ;;
    --delay-ms) delay_ms="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
done

for tool in python3 wrk; do
  command -v "$tool" >/dev/null || { echo "soak: $tool is missing; ./test.sh installs it" >&2; exit 1; }
done
bin="${SOAK_SIDECAR_BIN:-}"
if [ -z "$bin" ]; then
  for candidate in "$root/target/release/cognito-sidecar" "$root/target/debug/cognito-sidecar"; do
    if [ -x "$candidate" ]; then bin="$candidate"; break; fi
  done
fi
[ -n "$bin" ] && [ -x "$bin" ] || { echo "soak: no cognito-sidecar binary; run cargo build first" >&2; exit 1; }

out="${out:-$(mktemp -d /tmp/cognito-soak.XXXXXX)}"
mkdir -p "$out"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
sp=$(free_port); ip=$(free_port); up=$(free_port)

cat >"$out/emulator.yaml" <<EOF
listen: 127.0.0.1:$ip
region: us-east-1
user_pool_id: us-east-1_LOCAL
hooks:
  enabled: true
clients:
  - client_id: local-client
    client_secret: local-secret
    callback_urls: [http://localhost:$sp/oauth2/callback]
    logout_urls: [http://localhost:$sp/]
    allowed_scopes: [openid, email, profile]
users:
  - username: alice
    password: Passw0rd!
    attributes: {email: alice@example.com, email_verified: "true"}
    groups: [admins]
  - username: bob
    password: Passw0rd!
    attributes: {email: bob@example.com, email_verified: "true"}
EOF
cat >"$out/sidecar.yaml" <<EOF
listen: 127.0.0.1:$sp
upstream: http://127.0.0.1:$up
public_url: http://localhost:$sp
cognito:
  region: us-east-1
  user_pool_id: us-east-1_LOCAL
  client_id: local-client
  client_secret: local-secret
  domain: http://127.0.0.1:$ip
  issuer: http://127.0.0.1:$ip/us-east-1_LOCAL
session:
  secret: $("$bin" secret)
access:
  public_paths: [/public/*]
log:
  level: warn
EOF

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

"$bin" emulator -c "$out/emulator.yaml" 2>"$out/emulator.log" &
pids+=($!)
python3 - "$ip" <<'EOF'
import socket, sys, time
for _ in range(300):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit("the emulator never started listening")
EOF
python3 "$here/soak.py" upstream --port "$up" 2>"$out/upstream.log" &
pids+=($!)
"$bin" run -c "$out/sidecar.yaml" 2>"$out/sidecar.log" &
sidecar=$!
pids+=($sidecar)

python3 - "$sp" <<'EOF'
import sys, time, urllib.request
url = f"http://127.0.0.1:{sys.argv[1]}/readyz"
for _ in range(300):
    try:
        if urllib.request.urlopen(url, timeout=2).status == 200:
            sys.exit(0)
    except Exception:
        pass
    time.sleep(0.1)
sys.exit("sidecar never became ready")
EOF
# Tokens live 2 minutes (the config minimum is 5), so sessions are refreshed during the run.
python3 - "$ip" <<'EOF'
import json, sys, urllib.request
body = json.dumps({"client_id": "local-client", "id_token_validity": "2m", "access_token_validity": "2m"}).encode()
req = urllib.request.Request(f"http://127.0.0.1:{sys.argv[1]}/_emulator/token-lifetimes", body, {"Content-Type": "application/json"})
urllib.request.urlopen(req, timeout=5)
EOF

echo "soak: ${duration}s, warm-up ${warmup}s, wrk ${connections} connections with ${delay_ms} ms pauses; output in $out"
echo "soak: binary $bin (pid $sidecar)"

# One sample a second: elapsed, RSS (KiB), open fds, threads.
(
  echo "t,rss_kib,fds,threads" >"$out/samples.csv"
  while kill -0 "$sidecar" 2>/dev/null; do
    rss=$(awk '/^VmRSS/ {print $2}' "/proc/$sidecar/status" 2>/dev/null || echo 0)
    threads=$(awk '/^Threads/ {print $2}' "/proc/$sidecar/status" 2>/dev/null || echo 0)
    fds=$(ls "/proc/$sidecar/fd" 2>/dev/null | wc -l)
    echo "$(date +%s),$rss,$fds,$threads" >>"$out/samples.csv"
    sleep 1
  done
) &
sampler=$!
pids+=($sampler)

python3 "$here/soak.py" traffic --sidecar "$sp" --idp "$ip" --duration "$duration" \
  --out "$out/traffic.json" >"$out/traffic.log" 2>&1 &
client=$!

# wrk in segments of at most 60 s, each with freshly issued tokens (they live 2 minutes).
deadline=$(( $(date +%s) + duration ))
segment=0
non2xx=0
socket_errors=0
requests=0
while [ "$(date +%s)" -lt "$deadline" ]; do
  left=$(( deadline - $(date +%s) ))
  [ "$left" -ge 2 ] || break
  seg=$(( left < 60 ? left : 60 ))
  creds=$(python3 "$here/soak.py" tokens --sidecar "$sp" --idp "$ip")
  SOAK_COOKIE=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["cookie"])' "$creds") \
  SOAK_BEARER=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["bearer"])' "$creds") \
  SOAK_HOST="localhost:$sp" SOAK_DELAY_MS="$delay_ms" \
    wrk -t1 -c"$connections" -d"${seg}s" --timeout 5s --latency -s "$here/mix.lua" \
    "http://127.0.0.1:$sp/" >"$out/wrk_$segment.txt" 2>&1 || true
  n=$(awk '/requests in/ {print $1}' "$out/wrk_$segment.txt")
  bad=$(awk '/Non-2xx or 3xx responses/ {print $5}' "$out/wrk_$segment.txt")
  errs=$(awk '/Socket errors/ {gsub(",",""); print $4+$6+$8+$10}' "$out/wrk_$segment.txt")
  requests=$(( requests + ${n:-0} ))
  non2xx=$(( non2xx + ${bad:-0} ))
  socket_errors=$(( socket_errors + ${errs:-0} ))
  segment=$(( segment + 1 ))
done

client_status=0
wait "$client" || client_status=$?

kill -TERM "$sidecar"
exit_code=0
wait "$sidecar" || exit_code=$?
wait "$sampler" 2>/dev/null || true

echo "---- wrk: $requests requests in $segment segments, non-2xx: $non2xx, socket errors: $socket_errors"
grep -h -A4 "Latency Distribution" "$out/wrk_0.txt" || true
echo "---- custom clients (sign-in, WebSocket, refresh, refused):"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("ok", r["ok"]); print("failures", r["failures"]); [print("  ", e) for e in r["examples"]]' "$out/traffic.json"
echo "---- sidecar exit code after SIGTERM: $exit_code"
echo "---- RSS / fds:"
curve_status=0
python3 "$here/soak.py" summary --samples "$out/samples.csv" --warmup "$warmup" || curve_status=$?

status=0
[ "$non2xx" -eq 0 ] && [ "$socket_errors" -eq 0 ] || { echo "FAIL: wrk saw unexpected answers"; status=1; }
[ "$requests" -gt 0 ] || { echo "FAIL: wrk sent no request"; status=1; }
[ "$client_status" -eq 0 ] || { echo "FAIL: custom clients saw unexpected answers"; status=1; }
[ "$exit_code" -eq 0 ] || { echo "FAIL: sidecar exit code $exit_code"; status=1; }
[ "$curve_status" -eq 0 ] || { echo "FAIL: RSS or fds grew after warm-up"; status=1; }
[ "$status" -eq 0 ] && echo "soak: PASS" || echo "soak: FAIL (logs in $out)"
exit "$status"

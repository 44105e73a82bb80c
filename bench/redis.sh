#!/usr/bin/env bash
# Cookie sessions vs Redis sessions (issue 10): authenticated request rate and p50/p99
# latency of the sidecar with `session.store: cookie` and with `session.store: redis`,
# next to the upstream alone, measured with wrk in one run with the same upstream,
# connection count and CPU placement. Each signed-in request reads the session: from
# the cookie (AES-GCM open) or from Redis (AES-GCM open of the ticket + one GET + AES-GCM
# open of the value).
#
# Usage: bench/redis.sh
# Environment (defaults in brackets):
#   DURATION [10s]  CONNECTIONS [64]  THREADS [1]
#   WRK_CPUS [0]  SERVER_CPUS [1] (sidecars, redis, the emulator and the nginx upstream)
#   SIDECAR_BIN [target/release/cognito-sidecar; built with cargo if missing]
# Needs the Debian packages wrk, redis-server, nginx-light (or nginx), python3, curl and
# bc (./test.sh installs them).
set -euo pipefail

# nginx lives in /usr/sbin, which a non-root PATH may lack.
PATH=$PATH:/usr/sbin:/sbin
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH_DIR/.." && pwd)
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-1}
WRK_CPUS=${WRK_CPUS:-0}
SERVER_CPUS=${SERVER_CPUS:-1}
SIDECAR_BIN=${SIDECAR_BIN:-$REPO/target/release/cognito-sidecar}
SECRET=3q2+7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
POOL=us-east-1_LOCAL
PIDS=()
WORK=$(mktemp -d)

log() { printf 'bench: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	[[ -n ${KEEP:-} ]] || rm -rf "$WORK"
}
trap cleanup EXIT

for tool in wrk redis-server nginx python3 taskset curl bc; do
	command -v "$tool" >/dev/null || die "$tool is missing; ./test.sh installs it"
done
if [[ ! -x $SIDECAR_BIN ]]; then
	log "building the sidecar (cargo build --release --locked)"
	(cd "$REPO" && cargo build --release --locked)
fi
case $SIDECAR_BIN in
*/debug/*) log "warning: $SIDECAR_BIN is a debug build; compare rows with each other only" ;;
esac

if [[ $(nproc --all) -ge 2 ]]; then
	WRK=(taskset -c "$WRK_CPUS" wrk)
	SERVER=(taskset -c "$SERVER_CPUS")
else
	WRK=(wrk)
	SERVER=()
fi

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

free_port() {
	local port
	while :; do
		port=$((20000 + RANDOM % 10000))
		port_open "$port" || {
			echo "$port"
			return
		}
	done
}

wait_port() {
	for _ in $(seq 200); do
		port_open "$1" && return
		sleep 0.05
	done
	die "nothing listens on port $1"
}

# wait_http URL LOG: until it answers 200 (readiness); shows LOG if it never does.
wait_http() {
	for _ in $(seq 200); do
		[[ $(curl -s -o /dev/null -w '%{http_code}' "$1") == 200 ]] && return
		sleep 0.05
	done
	tail -n 20 "$2" >&2
	die "$1 never answered 200 (log above)"
}

REDIS_PORT=$(free_port)
"${SERVER[@]}" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
	>"$WORK/redis.log" 2>&1 &
PIDS+=($!)
wait_port "$REDIS_PORT"

COOKIE_PORT=$(free_port)
REDIS_SIDECAR_PORT=$(free_port)
EMULATOR_PORT=$(free_port)
cat >"$WORK/emulator.yaml" <<EOF
listen: 127.0.0.1:$EMULATOR_PORT
region: us-east-1
user_pool_id: $POOL
clients:
  - client_id: local-client
    client_secret: local-secret
    callback_urls: [http://localhost:$COOKIE_PORT/oauth2/callback, http://localhost:$REDIS_SIDECAR_PORT/oauth2/callback]
    logout_urls: [http://localhost:$COOKIE_PORT/]
    allowed_scopes: [openid, email, profile]
users:
  - username: alice
    password: Passw0rd!
    attributes: {email: alice@example.com, email_verified: "true"}
    groups: [admins]
EOF
"${SERVER[@]}" env -u RUST_LOG "$SIDECAR_BIN" emulator -c "$WORK/emulator.yaml" \
	>"$WORK/emulator.log" 2>&1 &
PIDS+=($!)
wait_port "$EMULATOR_PORT"
EMULATOR=http://127.0.0.1:$EMULATOR_PORT
# The upstream: nginx answering a fixed 200, so the rows differ only by the sidecar.
UPSTREAM_PORT=$(free_port)
mkdir -p "$WORK/nginx/tmp"
chmod 755 "$WORK" "$WORK/nginx" "$WORK/nginx/tmp"
cat >"$WORK/nginx/nginx.conf" <<EOF
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
worker_processes 1;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx/tmp;
  proxy_temp_path $WORK/nginx/tmp;
  fastcgi_temp_path $WORK/nginx/tmp;
  uwsgi_temp_path $WORK/nginx/tmp;
  scgi_temp_path $WORK/nginx/tmp;
  keepalive_requests 100000;
  server {
    listen 127.0.0.1:$UPSTREAM_PORT;
    location / { return 200 "ok\n"; }
  }
}
EOF
"${SERVER[@]}" nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -e "$WORK/nginx/error.log" \
	-g 'daemon off;' >"$WORK/nginx/console.log" 2>&1 &
PIDS+=($!)
wait_port "$UPSTREAM_PORT"
UPSTREAM=http://127.0.0.1:$UPSTREAM_PORT
TARGET=/bench

# start_sidecar PORT STORE_YAML
start_sidecar() {
	cat >"$WORK/sidecar-$1.yaml" <<EOF
listen: 127.0.0.1:$1
upstream: $UPSTREAM
public_url: http://localhost:$1
cognito:
  region: us-east-1
  user_pool_id: $POOL
  client_id: local-client
  client_secret: local-secret
  domain: $EMULATOR
  issuer: $EMULATOR/$POOL
session:
  secret: $SECRET
$2
log:
  level: warn
EOF
	"${SERVER[@]}" env -u RUST_LOG "$SIDECAR_BIN" run -c "$WORK/sidecar-$1.yaml" \
		>"$WORK/sidecar-$1.log" 2>&1 &
	PIDS+=($!)
	wait_http "http://127.0.0.1:$1/readyz" "$WORK/sidecar-$1.log"
}
start_sidecar "$COOKIE_PORT" "  store: cookie"
start_sidecar "$REDIS_SIDECAR_PORT" "  store: redis
  redis:
    url: redis://127.0.0.1:$REDIS_PORT/0"

# sign_in PORT: the session Cookie header value after a hosted-UI sign-in.
sign_in() {
	python3 - "http://localhost:$1" <<'PY'
import http.cookiejar, re, sys, urllib.parse, urllib.request
class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k):
        return None
jar = http.cookiejar.CookieJar()
op = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect())
def fetch(url, data=None):
    req = urllib.request.Request(url, data=data, headers={"Accept": "text/html"})
    try:
        r = op.open(req, timeout=10)
    except urllib.error.HTTPError as e:
        r = e
    return r.status, r.headers, r.read().decode("utf-8", "replace")
url = sys.argv[1] + "/oauth2/start?rd=/"
for _ in range(6):
    status, headers, body = fetch(url)
    if status != 302:
        break
    url = urllib.parse.urljoin(url, headers["Location"])
csrf = re.search(r'name="_csrf" value="([^"]*)"', body).group(1)
form = urllib.parse.urlencode({"_csrf": csrf, "username": "alice", "password": "Passw0rd!"}).encode()
status, headers, _ = fetch(url, form)
callback = urllib.parse.urljoin(url, headers["Location"])
status, _, _ = fetch(callback)
assert status == 302, f"callback answered {status}"
print("; ".join(f"{c.name}={c.value}" for c in jar if c.name.startswith("_cognito_sidecar")))
PY
}
COOKIE_SESSION=$(sign_in "$COOKIE_PORT")
REDIS_SESSION=$(sign_in "$REDIS_SIDECAR_PORT")
[[ -n $COOKIE_SESSION && -n $REDIS_SESSION ]] || die "sign-in failed"

cat >"$WORK/report.lua" <<'LUA'
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH %d %d %.0f %.0f %d\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99),
    e.status + e.connect + e.read + e.write + e.timeout))
end
LUA

# row NAME URL [wrk options]: one wrk run, one line of the table.
row() {
	local name=$1 url=$2 out requests duration p50 p99 errors
	shift 2
	out=$("${WRK[@]}" -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" -s "$WORK/report.lua" "$@" "$url")
	read -r requests duration p50 p99 errors < <(grep '^BENCH ' <<<"$out" | cut -d' ' -f2-)
	printf '%-22s %10.0f %10.2f %10.2f %8d\n' "$name" \
		"$(bc -l <<<"$requests / ($duration / 1000000)")" \
		"$(bc -l <<<"$p50 / 1000")" "$(bc -l <<<"$p99 / 1000")" "$errors"
}

printf 'wrk -t%s -c%s -d%s, wrk on CPU %s, servers on CPU %s, %s\n' "$THREADS" "$CONNECTIONS" \
	"$DURATION" "$WRK_CPUS" "$SERVER_CPUS" "$SIDECAR_BIN"
printf '%-22s %10s %10s %10s %8s\n' row req/s p50_ms p99_ms errors
row direct "$UPSTREAM$TARGET"
row "sidecar cookie store" "http://127.0.0.1:$COOKIE_PORT$TARGET" -H "Cookie: $COOKIE_SESSION"
row "sidecar redis store" "http://127.0.0.1:$REDIS_SIDECAR_PORT$TARGET" -H "Cookie: $REDIS_SESSION"

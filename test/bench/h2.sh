#!/usr/bin/env bash
# HTTP/2 and gRPC benchmark. Scenario h2: h2load (-c 10 -m 100, h2c with
# prior knowledge); scenario grpc: ghz unary calls (grpc.health.v1 Check).
# Each against the backend directly, mosn (GOMAXPROCS=1), haproxy (one
# thread) and nginx (one process), each proxy pinned to core 0, load and
# backend on core 1. Prints requests/s and the proxy's CPU-µs per request
# (utime+stime from /proc/PID/stat over the run, divided by the requests).
# Loopback only, bounded by a request count.
#
# Knobs (environment):
#   H2_REQUESTS   requests per target            (default 200000)
#   H2_CONNS      h2load connections (-c)        (default 10)
#   H2_STREAMS    streams per connection (-m)    (default 100)
#   H2_SIZE       response body bytes            (default 64)
#   H2_TARGETS    targets, in order              (default "direct mosn haproxy nginx")
#   H2_SCENARIOS  scenarios, in order            (default "h2 grpc"; grpc needs ghz:
#                 go install github.com/bojand/ghz/cmd/ghz@v0.93.0)
#   GRPC_REQUESTS ghz calls per target           (default 100000)
#   GRPC_CONNS    ghz connections / concurrency  (default 10 / 100)
#   BENCH_MOSN    a prebuilt mosn binary instead of building ./cmd/mosn
#   MOSN_NETPOLL  true runs mosn on its event-loop IO model (use_netpoll_mode)
#
# mosn and haproxy speak HTTP/2 to the backend; in scenario h2 nginx cannot
# (proxy_pass is HTTP/1.1 only), so it uses HTTP/1.1 keep-alive upstream; in
# scenario grpc it uses grpc_pass.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
REQUESTS=${H2_REQUESTS:-200000}
CONNS=${H2_CONNS:-10}
STREAMS=${H2_STREAMS:-100}
SIZE=${H2_SIZE:-64}
TARGETS=${H2_TARGETS:-direct mosn haproxy nginx}
SCENARIOS=${H2_SCENARIOS:-h2 grpc}
GRPC_REQUESTS=${GRPC_REQUESTS:-100000}
GHZ=$(command -v ghz || echo "$(go env GOPATH)/bin/ghz")
CLK_TCK=$(getconf CLK_TCK)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/mosn-h2bench.XXXXXX")
PIDS=()

# shellcheck source=lib.sh
source "$ROOT/test/bench/lib.sh"

command -v h2load >/dev/null || {
	log "h2load missing: apt-get install nghttp2-client"
	exit 2
}

cd "$ROOT"
go build -o "$TMP/h2echo" ./test/bench/h2echo
if [[ " $TARGETS " == *" mosn "* ]]; then
	build_mosn
fi

# The HTTP/2 backend: nghttpd serving a file of SIZE bytes (the Go h2echo
# when nghttpd is missing; it is slower, and then the limit); nginx's
# HTTP/1.1 backend: httpecho's raw responder.
BPORT=$(free_port)
if command -v nghttpd >/dev/null; then
	mkdir -p "$TMP/www"
	head -c "$SIZE" /dev/zero | tr '\0' x >"$TMP/www/index.html"
	"${LOAD_CPU[@]}" nghttpd --no-tls -d "$TMP/www" --address=127.0.0.1 "$BPORT" >"$TMP/backend.log" 2>&1 &
	BACKEND="nghttpd"
else
	"${LOAD_CPU[@]}" "$TMP/h2echo" -addr "127.0.0.1:$BPORT" -size "$SIZE" >"$TMP/backend.log" 2>&1 &
	BACKEND="h2echo (Go net/http)"
fi
PIDS+=($!)
wait_ready "$BPORT" $! backend
go build -o "$TMP/httpecho" ./test/bench/httpecho
go build -o "$TMP/grpcecho" ./test/bench/grpcecho
GPORT=$(free_port)
"${LOAD_CPU[@]}" "$TMP/grpcecho" -addr "127.0.0.1:$GPORT" >"$TMP/grpcecho.log" 2>&1 &
PIDS+=($!)
wait_ready "$GPORT" $! grpcecho
HPORT=$(free_port)
"${LOAD_CPU[@]}" "$TMP/httpecho" -addr "127.0.0.1:$HPORT" -size "$SIZE" >"$TMP/httpecho.log" 2>&1 &
PIDS+=($!)
wait_ready "$HPORT" $! httpecho

start_mosn() {
	local port=$1
	cat >"$TMP/mosn.json" <<EOF
{"servers": [{"default_log_path": "$TMP/mosn.err", "default_log_level": "ERROR",
  "use_netpoll_mode": ${MOSN_NETPOLL:-false},
  "routers": [{"router_config_name": "r", "virtual_hosts": [{"name": "v", "domains": ["*"],
    "routers": [{"match": {"prefix": "/"}, "route": {"cluster_name": "c"}}]}]}],
  "listeners": [{"name": "h2", "address": "127.0.0.1:$port", "bind_port": true,
    "filter_chains": [{"filters": [{"type": "proxy", "config": {
      "downstream_protocol": "Http2", "upstream_protocol": "Http2", "router_config_name": "r"}}]}]}]}],
 "cluster_manager": {"clusters": [{"name": "c", "type": "SIMPLE", "lb_type": "LB_ROUNDROBIN",
   "circuit_breakers": [{"max_connections": 100000, "max_requests": 100000}],
   "hosts": [{"address": "127.0.0.1:$UP"}]}]}}
EOF
	GOMAXPROCS=1 "${PROXY_CPU[@]}" "$MOSN" start -c "$TMP/mosn.json" >"$TMP/mosn.log" 2>&1 &
}

start_haproxy() {
	local port=$1
	cat >"$TMP/haproxy.cfg" <<EOF
global
	nbthread 1
	maxconn 4000
defaults
	mode http
	timeout connect 5s
	timeout client 60s
	timeout server 60s
frontend fe
	bind 127.0.0.1:$port proto h2
	default_backend be
backend be
	http-reuse always
	server s1 127.0.0.1:$UP proto h2
EOF
	"${PROXY_CPU[@]}" haproxy -db -f "$TMP/haproxy.cfg" >"$TMP/haproxy.log" 2>&1 &
}

start_nginx() {
	local port=$1
	cat >"$TMP/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $TMP/nginx.pid;
error_log $TMP/nginx.err error;
events { worker_connections 20000; }
http {
	access_log off;
	keepalive_requests 100000000;
	upstream be { server 127.0.0.1:$NGINX_UP; keepalive 1000; }
	server {
		listen 127.0.0.1:$port http2;
		http2_max_concurrent_streams 128;
		keepalive_requests 100000000; # default 1000: then GOAWAY, which h2load counts as failures
		location / {
			$NGINX_PASS
		}
	}
}
EOF
	"${PROXY_CPU[@]}" nginx -e "$TMP/nginx.err" -p "$TMP" -c "$TMP/nginx.conf" >"$TMP/nginx.log" 2>&1 &
}

# load PORT: runs the scenario's load against 127.0.0.1:PORT and prints
# "requests/s succeeded failed".
load() {
	local port=$1 out
	if [[ $SCENARIO == h2 ]]; then
		out=$("${LOAD_CPU[@]}" timeout 300 h2load -n "$REQUESTS" -c "$CONNS" -m "$STREAMS" "http://127.0.0.1:$port/" 2>&1) || true
		python3 -c '
import re, sys
t = sys.stdin.read()
m = re.search(r"finished in [^,]*, ([0-9.]+) req/s", t)
n = re.search(r"requests: .* (\d+) succeeded, (\d+) failed", t)
print(m.group(1) if m else "?", n.group(1) if n else 0, n.group(2) if n else "?")' <<<"$out"
	else
		out=$("${LOAD_CPU[@]}" timeout 300 "$GHZ" --insecure --call grpc.health.v1.Health/Check \
			-n "$GRPC_REQUESTS" --connections "${GRPC_CONNS:-10}" -c 100 -O json "127.0.0.1:$port" 2>/dev/null) || true
		python3 -c '
import json, sys
try:
    r = json.load(sys.stdin)
except Exception:
    print("? 0 ?"); sys.exit()
ok = r.get("statusCodeDistribution", {}).get("OK", 0)
print("%.2f" % r.get("rps", 0), ok, r.get("count", 0) - ok)' <<<"$out"
	fi
}

for SCENARIO in $SCENARIOS; do
	case $SCENARIO in
	h2)
		UP=$BPORT NGINX_UP=$HPORT
		NGINX_PASS='proxy_pass http://be; proxy_http_version 1.1; proxy_set_header Connection "";'
		printf '\n%-8s %12s %10s %12s  %s\n' target "requests/s" failed "CPU-µs/req" "h2load -n $REQUESTS -c $CONNS -m $STREAMS, ${SIZE}-byte bodies, backend $BACKEND"
		;;
	grpc)
		[[ -x $GHZ ]] || {
			log "ghz missing: go install github.com/bojand/ghz/cmd/ghz@v0.93.0"
			continue
		}
		UP=$GPORT NGINX_UP=$GPORT
		NGINX_PASS="grpc_pass grpc://127.0.0.1:$GPORT;"
		printf '\n%-8s %12s %10s %12s  %s\n' target "calls/s" failed "CPU-µs/call" "ghz -n $GRPC_REQUESTS --connections ${GRPC_CONNS:-10} -c 100, unary grpc.health.v1.Health/Check, grpc-go backend"
		;;
	*)
		log "unknown scenario $SCENARIO (h2, grpc)"
		exit 2
		;;
	esac
	for target in $TARGETS; do
		pid=""
		port=$UP
		case $target in
		direct) ;;
		mosn | haproxy | nginx)
			command -v "$target" >/dev/null || [[ $target == mosn ]] || {
				printf '%-8s %12s\n' "$target" "not installed"
				continue
			}
			port=$(free_port)
			"start_$target" "$port"
			pid=$!
			PIDS+=("$pid")
			wait_ready "$port" "$pid" "$target" || {
				printf '%-8s %12s\n' "$target" "did not start"
				continue
			}
			;;
		*)
			log "unknown target $target"
			exit 2
			;;
		esac
		# A short warm-up run, then the measured one.
		REQUESTS_SAVED=$REQUESTS GRPC_SAVED=$GRPC_REQUESTS
		REQUESTS=10000 GRPC_REQUESTS=5000
		load "$port" >/dev/null
		REQUESTS=$REQUESTS_SAVED GRPC_REQUESTS=$GRPC_SAVED
		t0=0
		[[ -z $pid ]] || t0=$(cpu_ticks "$pid")
		read -r rps ok failed < <(load "$port")
		cpu="-"
		if [[ -n $pid && $ok -gt 0 ]]; then
			t1=$(cpu_ticks "$pid")
			cpu=$(awk -v d=$((t1 - t0)) -v hz="$CLK_TCK" -v n="$ok" 'BEGIN { printf "%.1f", d * 1e6 / hz / n }')
		fi
		printf '%-8s %12s %10s %12s\n' "$target" "$rps" "$failed" "$cpu"
		if [[ -n $pid ]]; then
			kill -TERM "$pid" 2>/dev/null || true
			wait "$pid" 2>/dev/null || true
		fi
	done
done

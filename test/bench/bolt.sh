#!/usr/bin/env bash
# bolt (SOFARPC) benchmark: boltload (./boltload, our load generator, the
# echo("hello") request sofa-rpc-node sends) against boltecho (./boltecho,
# the answer sofa-rpc-node's server gives) directly, through mosn
# (GOMAXPROCS=1, bolt to bolt: ids rewritten, all connections multiplexed on
# one upstream connection) and through haproxy in TCP mode (one thread, the
# floor: bytes copied, nothing decoded). The proxy is pinned to core 0, load
# and backend to core 1. Two runs per target:
#
#   full   closed loop, BOLT_CONNS connections, one request in flight on each:
#          requests/s, p50/p99, and the proxy's CPU-µs per request
#          (utime+stime from /proc/PID/stat over the run, over its requests)
#   rate   open loop at BOLT_RATE requests/s: p50/p99 at a fixed load
#
# Knobs (environment):
#   BOLT_CONNS     connections                 (default 50)
#   BOLT_DURATION  measured window per run     (default 10s)
#   BOLT_RATE      requests/s of the rate run  (default 2000)
#   BOLT_TARGETS   targets, in order           (default "direct mosn haproxy")
#   BENCH_MOSN     a prebuilt mosn binary instead of building ./cmd/mosn
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CONNS=${BOLT_CONNS:-50}
DURATION=${BOLT_DURATION:-10s}
RATE=${BOLT_RATE:-2000}
TARGETS=${BOLT_TARGETS:-direct mosn haproxy}
CLK_TCK=$(getconf CLK_TCK)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/mosn-boltbench.XXXXXX")
PIDS=()

# shellcheck source=lib.sh
source "$ROOT/test/bench/lib.sh"

# field KEY LINE: the value of KEY=value in boltload's output line.
field() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p"; }

cd "$ROOT"
go build -o "$TMP/boltload" ./test/bench/boltload
go build -o "$TMP/boltecho" ./test/bench/boltecho
if [[ " $TARGETS " == *" mosn "* ]]; then
	build_mosn
fi

UP=$(free_port)
"${LOAD_CPU[@]}" "$TMP/boltecho" -addr "127.0.0.1:$UP" >"$TMP/backend.log" 2>&1 &
PIDS+=($!)
wait_ready "$UP" $! backend

start_mosn() {
	cat >"$TMP/mosn.json" <<EOF2
{"servers": [{"default_log_path": "$TMP/mosn.err", "default_log_level": "ERROR",
  "routers": [{"router_config_name": "r", "virtual_hosts": [{"name": "v", "domains": ["*"],
    "routers": [{"match": {"headers": [{"name": "service", "value": ".*"}]}, "route": {"cluster_name": "c"}}]}]}],
  "listeners": [{"name": "bolt", "address": "127.0.0.1:$1", "bind_port": true,
    "filter_chains": [{"filters": [{"type": "proxy", "config": {
      "downstream_protocol": "SofaRpc", "upstream_protocol": "SofaRpc", "router_config_name": "r"}}]}]}]}],
 "cluster_manager": {"clusters": [{"name": "c", "type": "SIMPLE", "lb_type": "LB_RANDOM",
   "circuit_breakers": [{"max_connections": 100000, "max_requests": 100000}],
   "hosts": [{"address": "127.0.0.1:$UP"}]}]}}
EOF2
	GOMAXPROCS=1 "${PROXY_CPU[@]}" "$MOSN" start -c "$TMP/mosn.json" >"$TMP/mosn.log" 2>&1 &
}

start_haproxy() {
	cat >"$TMP/haproxy.cfg" <<EOF2
global
	nbthread 1
	maxconn 4000
defaults
	mode tcp
	timeout connect 5s
	timeout client 60s
	timeout server 60s
frontend fe
	bind 127.0.0.1:$1
	default_backend be
backend be
	server s1 127.0.0.1:$UP
EOF2
	"${PROXY_CPU[@]}" haproxy -db -f "$TMP/haproxy.cfg" >"$TMP/haproxy.log" 2>&1 &
}

FAILED=0
printf '%-8s %12s %9s %9s %11s   %9s %9s %7s  %s\n' target "requests/s" p50_us p99_us "CPU-µs/req" "p50@$RATE" "p99@$RATE" errors \
	"boltload -conns $CONNS, $DURATION per run; boltecho backend"
for target in $TARGETS; do
	pid=""
	port=$UP
	case $target in
	direct) ;;
	mosn | haproxy)
		if [[ $target == haproxy ]] && ! command -v haproxy >/dev/null; then
			printf '%-8s %12s\n' "$target" "not installed"
			continue
		fi
		port=$(free_port)
		"start_$target" "$port"
		pid=$!
		PIDS+=("$pid")
		wait_ready "$port" "$pid" "$target" || {
			printf '%-8s %12s\n' "$target" "did not start"
			FAILED=1
			continue
		}
		;;
	*)
		log "unknown target $target (direct, mosn, haproxy)"
		exit 2
		;;
	esac
	t0=0
	[[ -z $pid ]] || t0=$(cpu_ticks "$pid")
	full=$("${LOAD_CPU[@]}" "$TMP/boltload" -addr "127.0.0.1:$port" -conns "$CONNS" -warmup 0s -duration "$DURATION") || FAILED=1
	cpu="-"
	n=$(field requests "$full")
	if [[ -n $pid && ${n:-0} -gt 0 ]]; then
		t1=$(cpu_ticks "$pid")
		cpu=$(awk -v d=$((t1 - t0)) -v hz="$CLK_TCK" -v n="$n" 'BEGIN { printf "%.1f", d * 1e6 / hz / n }')
	fi
	fixed=$("${LOAD_CPU[@]}" "$TMP/boltload" -addr "127.0.0.1:$port" -conns "$CONNS" -rate "$RATE" -warmup 1s -duration "$DURATION") || FAILED=1
	errors=$(($(field errors "$full") + $(field errors "$fixed")))
	printf '%-8s %12s %9s %9s %11s   %9s %9s %7s\n' "$target" "$(field rps "$full")" "$(field p50_us "$full")" "$(field p99_us "$full")" "$cpu" \
		"$(field p50_us "$fixed")" "$(field p99_us "$fixed")" "$errors"
	if [[ -n $pid ]]; then
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
done
exit $FAILED

#!/usr/bin/env bash
# End-to-end TCP benchmark: mosn against haproxy and nginx, in one run, on one
# machine. See test/bench/README.md.
#
# Knobs (environment):
#   BENCH_DURATION  measured window per target          (default 10s)
#   BENCH_WARMUP    unmeasured time before the window   (default 2s)
#   BENCH_CONNS     concurrent connections               (default 50)
#   BENCH_SIZE      request/response size in bytes       (default 64)
#   BENCH_TARGETS   targets to run, in order             (default "direct mosn haproxy nginx")
#   BENCH_MOSN      a prebuilt mosn binary to use instead of building ./cmd/mosn
#   BENCH_KEEP      1 keeps the temp dir (configs, logs) for a look afterwards
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BENCH_DIR=$ROOT/test/bench
DURATION=${BENCH_DURATION:-10s}
WARMUP=${BENCH_WARMUP:-2s}
CONNS=${BENCH_CONNS:-50}
SIZE=${BENCH_SIZE:-64}
TARGETS=${BENCH_TARGETS:-direct mosn haproxy nginx}
CLK_TCK=$(getconf CLK_TCK)
READY_TIMEOUT_S=10 # how long a proxy may take to accept connections
# Connection limit for the peers: room for every load connection, and low
# enough that haproxy's 2*maxconn file descriptors fit a 20000 ulimit -n.
MAXCONN=$((CONNS + 1024))

TMP=$(mktemp -d "${TMPDIR:-/tmp}/mosn-bench.XXXXXX")
PIDS=()  # every process this script started and has not yet stopped
FAILED=0 # 1 once a target that should have run did not

log() { printf '%s\n' "$*" >&2; }

# stop PID...: SIGTERM, then SIGKILL after 5 s; only PIDs this script started.
stop() {
	local pid i
	for pid in "$@"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "$@"; do
		for ((i = 0; i < 50; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	forget "$@"
}

# forget PID...: drop PIDs that have exited from PIDS.
forget() {
	local keep=() p
	for p in "${PIDS[@]}"; do
		[[ " $* " == *" $p "* ]] || keep+=("$p")
	done
	PIDS=("${keep[@]}")
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if ((${#PIDS[@]})); then
		stop "${PIDS[@]}"
	fi
	if [[ ${BENCH_KEEP:-0} == 1 ]]; then
		log "kept $TMP"
	else
		rm -rf "$TMP"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for t in $TARGETS; do
	case $t in
	direct | mosn | haproxy | nginx) ;;
	*)
		log "BENCH_TARGETS: unknown target $t (direct, mosn, haproxy, nginx)"
		exit 2
		;;
	esac
done

# Pinning: the proxy under test gets core 0, the load generator and the echo
# backend share core 1.
if (($(nproc) >= 2)); then
	PROXY_CPU=(taskset -c 0)
	LOAD_CPU=(taskset -c 1)
else
	log "warning: fewer than 2 CPUs: nothing is pinned, numbers are not comparable"
	PROXY_CPU=()
	LOAD_CPU=()
fi

# ---- build ---------------------------------------------------------------
cd "$ROOT"
log "building tools into $TMP"
go build -o "$TMP/tcpload" ./test/bench/tcpload
go build -o "$TMP/echo" ./test/bench/echo

MOSN_BIN=""
MOSN_SKIP=""
if [[ " $TARGETS " == *" mosn "* ]]; then
	if [[ -n ${BENCH_MOSN:-} ]]; then
		MOSN_BIN=$BENCH_MOSN
	elif go build -o "$TMP/mosn" ./cmd/mosn >"$TMP/mosn-build.log" 2>&1; then
		MOSN_BIN=$TMP/mosn
	else
		MOSN_SKIP="does not build (go build ./cmd/mosn), skipped"
		log "mosn: $MOSN_SKIP:"
		head -n 20 "$TMP/mosn-build.log" | sed 's/^/  /' >&2
	fi
fi

# ---- helpers -------------------------------------------------------------

# wait_ready PORT PID NAME: poll until 127.0.0.1:PORT accepts, while PID lives.
wait_ready() {
	local port=$1 pid=$2 name=$3 deadline=$((SECONDS + READY_TIMEOUT_S))
	while ((SECONDS < deadline)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			log "$name: exited before accepting connections; its log:"
			tail -n 20 "$TMP/$name.log" | sed 's/^/  /' >&2
			return 1
		fi
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			return 0
		fi
		sleep 0.05
	done
	log "$name: not accepting on 127.0.0.1:$port after ${READY_TIMEOUT_S}s"
	return 1
}

# run_load NAME ADDR [PIDS]: run the load, store its key=value line in RESULT[NAME].
declare -A RESULT NOTE
run_load() {
	local name=$1 addr=$2 pids=${3:-} args line pid rc
	args=(-addr "$addr" -conns "$CONNS" -size "$SIZE" -duration "$DURATION" -warmup "$WARMUP" -clktck "$CLK_TCK")
	if [[ -n $pids ]]; then
		args+=(-pid "$pids")
		# How busy the proxy's core was in all, to catch other processes on it.
		((${#PROXY_CPU[@]})) && args+=(-core 0)
	fi
	log "$name: loading $addr for $WARMUP + $DURATION"
	# In the background so that a signal to this script is handled at once.
	"${LOAD_CPU[@]}" "$TMP/tcpload" "${args[@]}" >"$TMP/$name-load.out" 2>"$TMP/$name-load.err" &
	pid=$!
	PIDS+=("$pid")
	rc=0
	wait "$pid" || rc=$?
	forget "$pid"
	line=$(head -n 1 "$TMP/$name-load.out")
	if ((rc == 0)); then
		RESULT[$name]=$line
	else
		NOTE[$name]="load failed: $(head -n 1 "$TMP/$name-load.err")"
		FAILED=1
		log "$name: ${NOTE[$name]}"
	fi
	log "  $line"
}

# start_proxy NAME PORT CMD...: start CMD pinned to the proxy core, wait for it.
# Sets PROXY_PID.
start_proxy() {
	local name=$1 port=$2
	shift 2
	"${PROXY_CPU[@]}" "$@" >"$TMP/$name.log" 2>&1 &
	PROXY_PID=$!
	PIDS+=("$PROXY_PID")
	if ! wait_ready "$port" "$PROXY_PID" "$name"; then
		stop "$PROXY_PID"
		NOTE[$name]="did not start, see its log (BENCH_KEEP=1)"
		FAILED=1
		return 1
	fi
}

free_port() { "$TMP/tcpload" -freeport; }

# nginx_stream_module prints a load_module line if nginx has stream as a
# dynamic module, nothing if it is built in, and fails if it has none.
nginx_stream_module() {
	local v modpath f
	v=$(nginx -V 2>&1)
	if [[ $v == *"--with-stream "* || $v == *"--with-stream" ]]; then
		return 0
	fi
	modpath=$(sed -n 's/.*--modules-path=\([^ ]*\).*/\1/p' <<<"$v")
	for f in "${modpath:-/usr/lib/nginx/modules}/ngx_stream_module.so" /usr/lib/nginx/modules/ngx_stream_module.so; do
		if [[ -f $f ]]; then
			echo "load_module $f;"
			return 0
		fi
	done
	return 1
}

# ---- targets -------------------------------------------------------------

bench_direct() {
	run_load direct "$BACKEND"
}

bench_mosn() {
	if [[ -n $MOSN_SKIP ]]; then
		NOTE[mosn]=$MOSN_SKIP
		return 0
	fi
	local port cfg
	port=$(free_port)
	cfg=$TMP/mosn.json
	cat >"$cfg" <<EOF
{"servers":[{"default_log_path":"stdout","default_log_level":"ERROR","listeners":[{"name":"bench","address":"127.0.0.1:$port","bind_port":true,"filter_chains":[{"filters":[{"type":"tcp_proxy","config":{"cluster":"backend"}}]}]}]}],
 "cluster_manager":{"clusters":[{"name":"backend","type":"SIMPLE","lb_type":"LB_ROUNDROBIN","hosts":[{"address":"$BACKEND"}]}]}}
EOF
	start_proxy mosn "$port" env GOMAXPROCS=1 "$MOSN_BIN" start -c "$cfg" --pid-file "$TMP/mosn.pid" || return 0
	run_load mosn "127.0.0.1:$port" "$PROXY_PID"
	stop "$PROXY_PID"
}

bench_haproxy() {
	if ! command -v haproxy >/dev/null; then
		NOTE[haproxy]="not installed (apt-get install haproxy)"
		log "haproxy: ${NOTE[haproxy]}"
		return 0
	fi
	local port cfg
	port=$(free_port)
	cfg=$TMP/haproxy.cfg
	cat >"$cfg" <<EOF
global
	nbthread 1
	maxconn $MAXCONN
	pidfile $TMP/haproxy.pid
	log stderr format raw local0 err

defaults
	mode tcp
	log global
	timeout connect 5s
	timeout client 60s
	timeout server 60s

frontend bench
	bind 127.0.0.1:$port
	default_backend backend

backend backend
	server echo $BACKEND
EOF
	haproxy -c -f "$cfg" >"$TMP/haproxy-check.log" 2>&1 || {
		NOTE[haproxy]="config rejected: $(tail -n 1 "$TMP/haproxy-check.log")"
		FAILED=1
		log "haproxy: ${NOTE[haproxy]}"
		return 0
	}
	start_proxy haproxy "$port" haproxy -f "$cfg" -db || return 0
	run_load haproxy "127.0.0.1:$port" "$PROXY_PID"
	stop "$PROXY_PID"
}

bench_nginx() {
	if ! command -v nginx >/dev/null; then
		NOTE[nginx]="not installed (apt-get install nginx)"
		log "nginx: ${NOTE[nginx]}"
		return 0
	fi
	local load_module port cfg worker i
	if ! load_module=$(nginx_stream_module); then
		NOTE[nginx]="no stream module (apt-get install libnginx-mod-stream)"
		log "nginx: ${NOTE[nginx]}"
		return 0
	fi
	port=$(free_port)
	mkdir -p "$TMP/nginx"
	cfg=$TMP/nginx.conf
	# A master with one worker, as nginx runs in production; the CPU of both
	# is summed (the master is idle while serving).
	cat >"$cfg" <<EOF
$load_module
worker_processes 1;
pid $TMP/nginx.pid;
error_log $TMP/nginx-error.log error;
events { worker_connections $((2 * MAXCONN)); }
stream {
	upstream backend { server $BACKEND; }
	server {
		listen 127.0.0.1:$port;
		proxy_pass backend;
	}
}
EOF
	start_proxy nginx "$port" nginx -p "$TMP/nginx/" -e "$TMP/nginx-error.log" -c "$cfg" -g 'daemon off;' || return 0
	for ((i = 0; i < 100; i++)); do
		worker=$(pgrep -P "$PROXY_PID" | head -n 1 || true)
		[[ -n $worker ]] && break
		sleep 0.05
	done
	if [[ -z $worker ]]; then
		NOTE[nginx]="no worker process appeared"
		FAILED=1
		log "nginx: ${NOTE[nginx]}"
		stop "$PROXY_PID"
		return 0
	fi
	run_load nginx "127.0.0.1:$port" "$PROXY_PID,$worker"
	stop "$PROXY_PID"
}

# ---- run -----------------------------------------------------------------

: >"$TMP/echo.out"
"${LOAD_CPU[@]}" "$TMP/echo" -addr 127.0.0.1:0 >"$TMP/echo.out" 2>"$TMP/echo.log" &
ECHO_PID=$!
PIDS+=("$ECHO_PID")
for ((i = 0; i < 100; i++)); do
	BACKEND=$(head -n 1 "$TMP/echo.out")
	[[ -n $BACKEND ]] && break
	kill -0 "$ECHO_PID" 2>/dev/null || break
	sleep 0.05
done
if [[ -z $BACKEND ]]; then
	log "echo backend did not start:"
	cat "$TMP/echo.log" >&2
	exit 1
fi
log "echo backend on $BACKEND"

for t in $TARGETS; do
	"bench_$t"
done
stop "$ECHO_PID"

# ---- report --------------------------------------------------------------

# kv LINE KEY prints the value of KEY in a tcpload line, "-" if absent.
kv() {
	local v
	v=$(tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p")
	echo "${v:--}"
}

# ratio A B prints A/B with two decimals, "-" unless both are numbers.
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b + 0 > 0) printf "%.2f", a / b; else printf "-" }'
}

table() {
	local ha_rps ha_cpu ng_cpu t line rps cpu
	ha_rps=$(kv "${RESULT[haproxy]:-}" rps)
	ha_cpu=$(kv "${RESULT[haproxy]:-}" cpu_us_per_req)
	ng_cpu=$(kv "${RESULT[nginx]:-}" cpu_us_per_req)
	printf '%-9s %-10s %-7s %-7s %-10s %-8s %-14s %-14s %s\n' \
		target rps p50_us p99_us cpu_us/req cpu_pct rps_vs_haproxy cpu_vs_haproxy cpu_vs_nginx
	for t in $TARGETS; do
		line=${RESULT[$t]:-}
		if [[ -z $line ]]; then
			printf '%-9s %s\n' "$t" "${NOTE[$t]:-no result}"
			continue
		fi
		rps=$(kv "$line" rps)
		cpu=$(kv "$line" cpu_us_per_req)
		printf '%-9s %-10s %-7s %-7s %-10s %-8s %-14s %-14s %s\n' "$t" "$rps" \
			"$(kv "$line" p50_us)" "$(kv "$line" p99_us)" "$cpu" "$(kv "$line" cpu_pct)" \
			"$(ratio "$rps" "$ha_rps")" "$(ratio "$cpu" "$ha_cpu")" "$(ratio "$cpu" "$ng_cpu")"
	done
}

# warnings flags rows whose core was shared: CPU 0 busier than the proxy on
# it by more than 10 points, or a hypervisor taking more than 5%.
warnings() {
	local t line
	for t in $TARGETS; do
		line=${RESULT[$t]:-}
		[[ -n $line ]] || continue
		awk -v t="$t" -v cpu="$(kv "$line" cpu_pct)" -v core="$(kv "$line" core_pct)" -v steal="$(kv "$line" steal_pct)" 'BEGIN {
			if (core ~ /^[0-9.]+$/ && cpu ~ /^[0-9.]+$/ && core - cpu > 10)
				printf "warning: %s: CPU 0 was %.0f%% busy, the proxy used %.0f%%: other processes shared its core, rerun on a quiet machine\n", t, core, cpu
			if (steal ~ /^[0-9.]+$/ && steal > 5)
				printf "warning: %s: the hypervisor took %.0f%% of CPU 0 (steal)\n", t, steal
		}'
	done
}

versions() {
	echo "go: $(go version | cut -d' ' -f3-)"
	command -v haproxy >/dev/null && echo "haproxy: $(haproxy -v 2>&1 | head -n 1 | cut -d' ' -f3)"
	command -v nginx >/dev/null && echo "nginx: $(nginx -v 2>&1 | cut -d/ -f2)"
	return 0
}

{
	echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
	echo "kernel: $(uname -r)"
	echo "nproc: $(nproc)"
	versions
	echo "load: conns=$CONNS size=${SIZE}B warmup=$WARMUP duration=$DURATION; proxy on CPU 0 (mosn GOMAXPROCS=1), load+echo on CPU 1"
	echo
	table
	warnings
	echo
	echo "raw tcpload lines:"
	for t in $TARGETS; do
		[[ -n ${RESULT[$t]:-} ]] && echo "$t: ${RESULT[$t]}"
	done
	true
} >"$TMP/report.txt"
cp "$TMP/report.txt" "$BENCH_DIR/last-run.txt"
echo
cat "$TMP/report.txt"
if ((FAILED)); then
	log "some targets failed, see above"
	exit 1
fi

#!/usr/bin/env bash
# End-to-end benchmark: mosn against haproxy and nginx, in one run, on one
# machine, as a TCP proxy (tcp scenario) and as an HTTP/1.1 reverse proxy
# (http scenario). See test/bench/README.md.
#
# Knobs (environment):
#   BENCH_SCENARIOS   scenarios to run, in order                 (default "tcp http")
#   BENCH_DURATION    measured window per target                 (default 10s)
#   BENCH_WARMUP      unmeasured time before the window          (default 2s)
#   BENCH_CONNS       concurrent connections                     (default 50)
#   BENCH_SIZE        tcp: request/response size; http: response body size, in bytes (default 64)
#   BENCH_TARGETS     targets to run, in order                   (default "direct mosn haproxy nginx";
#                     mosn-netpoll is mosn with use_netpoll_mode true, the event-loop IO model)
#   BENCH_IDLE_CONNS  http: idle keep-alive connections for the memory figure of mosn and nginx (default 9000, 0: skip)
#   BENCH_HTTP_BACKEND  http: httpecho -mode, raw or nethttp     (default raw)
#   BENCH_MOSN        a prebuilt mosn binary to use instead of building ./cmd/mosn
#   BENCH_KEEP        1 keeps the temp dir (configs, logs) for a look afterwards
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BENCH_DIR=$ROOT/test/bench
SCENARIOS=${BENCH_SCENARIOS:-tcp http}
DURATION=${BENCH_DURATION:-10s}
WARMUP=${BENCH_WARMUP:-2s}
CONNS=${BENCH_CONNS:-50}
SIZE=${BENCH_SIZE:-64}
TARGETS=${BENCH_TARGETS:-direct mosn haproxy nginx}
IDLE_CONNS=${BENCH_IDLE_CONNS:-9000}
HTTP_BACKEND=${BENCH_HTTP_BACKEND:-raw}
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

# whole_seconds D prints the duration D (5s, 2m, 1h, or 0) in seconds, and
# fails on any other form: wrk takes whole seconds, minutes or hours only.
whole_seconds() {
	[[ $1 =~ ^([0-9]+)(s|m|h)?$ ]] || return 1
	local n=$((10#${BASH_REMATCH[1]}))
	case ${BASH_REMATCH[2]} in
	m) echo $((n * 60)) ;;
	h) echo $((n * 3600)) ;;
	*) echo "$n" ;;
	esac
}

for s in $SCENARIOS; do
	case $s in
	tcp | http) ;;
	*)
		log "BENCH_SCENARIOS: unknown scenario $s (tcp, http)"
		exit 2
		;;
	esac
done
for t in $TARGETS; do
	case $t in
	direct | mosn | mosn-netpoll | haproxy | nginx) ;;
	*)
		log "BENCH_TARGETS: unknown target $t (direct, mosn, mosn-netpoll, haproxy, nginx)"
		exit 2
		;;
	esac
done
if [[ " $SCENARIOS " == *" http "* ]]; then
	if ! WRK_SECS=$(whole_seconds "$DURATION") || ((WRK_SECS < 1)); then
		log "BENCH_DURATION=$DURATION: the http scenario needs whole seconds, minutes or hours (wrk), at least 1s"
		exit 2
	fi
	if ! WRK_WARMUP_S=$(whole_seconds "$WARMUP"); then
		log "BENCH_WARMUP=$WARMUP: the http scenario needs whole seconds, minutes or hours (wrk), or 0"
		exit 2
	fi
	case $HTTP_BACKEND in
	raw | nethttp) ;;
	*)
		log "BENCH_HTTP_BACKEND: unknown mode $HTTP_BACKEND (raw, nethttp)"
		exit 2
		;;
	esac
	[[ $IDLE_CONNS =~ ^[0-9]+$ ]] || {
		log "BENCH_IDLE_CONNS=$IDLE_CONNS: not a number"
		exit 2
	}
	# The client and the proxy each hold one descriptor per idle
	# connection, the proxy a few more (listener, upstream connections).
	fd_limit=$(ulimit -n)
	if [[ $fd_limit != unlimited ]] && ((IDLE_CONNS > fd_limit - 1000)); then
		log "ulimit -n is $fd_limit: idle connections lowered from $IDLE_CONNS to $((fd_limit - 1000))"
		IDLE_CONNS=$((fd_limit - 1000 > 0 ? fd_limit - 1000 : 0))
	fi
fi

# Pinning: the proxy under test gets core 0, the load generator and the
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
go build -o "$TMP/httpecho" ./test/bench/httpecho

MOSN_BIN=""
MOSN_SKIP=""
if [[ " $TARGETS " == *" mosn "* || " $TARGETS " == *" mosn-netpoll "* ]]; then
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

# in_bg OUT ERR CMD...: run CMD with its output to OUT and ERR and wait for
# it, in the background so that a signal to this script is handled at once.
# Returns CMD's exit status.
in_bg() {
	local out=$1 err=$2 pid rc=0
	shift 2
	"$@" >"$out" 2>"$err" &
	pid=$!
	PIDS+=("$pid")
	wait "$pid" || rc=$?
	forget "$pid"
	return "$rc"
}

# Results, by KEY = scenario-target (tcp-mosn, http-nginx, ...): RESULT
# holds a key=value line, NOTE why there is none. IDLE and IDLE_NOTE the
# same for the idle keep-alive figure (idle-mosn, idle-nginx).
declare -A RESULT=() NOTE=() IDLE=() IDLE_NOTE=()

# run_load KEY ADDR [PIDS]: run tcpload, store its key=value line in RESULT[KEY].
run_load() {
	local key=$1 addr=$2 pids=${3:-} args line rc
	args=(-addr "$addr" -conns "$CONNS" -size "$SIZE" -duration "$DURATION" -warmup "$WARMUP" -clktck "$CLK_TCK")
	if [[ -n $pids ]]; then
		args+=(-pid "$pids")
		# How busy the proxy's core was in all, to catch other processes on it.
		((${#PROXY_CPU[@]})) && args+=(-core 0)
	fi
	log "$key: loading $addr for $WARMUP + $DURATION"
	rc=0
	in_bg "$TMP/$key-load.out" "$TMP/$key-load.err" "${LOAD_CPU[@]}" "$TMP/tcpload" "${args[@]}" || rc=$?
	line=$(head -n 1 "$TMP/$key-load.out")
	if ((rc == 0)); then
		RESULT[$key]=$line
	else
		NOTE[$key]="load failed: $(head -n 1 "$TMP/$key-load.err")"
		FAILED=1
		log "$key: ${NOTE[$key]}"
	fi
	log "  $line"
}

# parse_wrk prints wrk --latency output (stdin) as one key=value line like
# tcpload's; latencies in µs. errors is the sum of wrk's socket errors
# (connect, read, write, timeout), non2xx its non-2xx-or-3xx responses.
parse_wrk() {
	awk '
	function us(v,  n) {
		n = v + 0
		if (v ~ /us$/) return n
		if (v ~ /ms$/) return n * 1e3
		if (v ~ /s$/) return n * 1e6
		if (v ~ /m$/) return n * 6e7
		if (v ~ /h$/) return n * 3.6e9
		return -1
	}
	$1 == "Latency" && NF >= 4 { max = us($4) }
	$1 == "50%" { p50 = us($2) }
	$1 == "90%" { p90 = us($2) }
	$1 == "99%" { p99 = us($2) }
	$2 == "requests" && $3 == "in" { requests = $1; seconds = $4 + 0 }
	/Socket errors:/ { gsub(/,/, ""); errors = $4 + $6 + $8 + $10 }
	/Non-2xx or 3xx responses:/ { non2xx = $NF }
	$1 == "Requests/sec:" { rps = $2 }
	END {
		if (rps == "" || p99 == "") exit 1
		printf "requests=%d seconds=%.2f rps=%.1f p50_us=%.1f p90_us=%.1f p99_us=%.1f max_us=%.1f errors=%d non2xx=%d\n",
			requests, seconds, rps, p50, p90, p99, max, errors, non2xx
	}'
}

# run_wrk KEY URL [PIDS]: a warm-up wrk run, then the measured one, with the
# CPU time of PIDS measured beside it by tcpload -cpu-of; stores a key=value
# line in RESULT[KEY].
run_wrk() {
	local key=$1 url=$2 pids=${3:-} args cpid="" rc=0 crc=0 line cpu
	if ((WRK_WARMUP_S > 0)); then
		log "$key: warming up $url for ${WRK_WARMUP_S}s"
		in_bg "$TMP/$key-warmup.out" "$TMP/$key-warmup.err" \
			"${LOAD_CPU[@]}" wrk -t1 -c"$CONNS" -d"${WRK_WARMUP_S}s" "$url" || true
	fi
	log "$key: loading $url for ${WRK_SECS}s"
	if [[ -n $pids ]]; then
		args=(-cpu-of "$pids" -for "${WRK_SECS}s" -clktck "$CLK_TCK")
		((${#PROXY_CPU[@]})) && args+=(-core 0)
		"${LOAD_CPU[@]}" "$TMP/tcpload" "${args[@]}" >"$TMP/$key-cpu.out" 2>"$TMP/$key-cpu.err" &
		cpid=$!
		PIDS+=("$cpid")
	fi
	in_bg "$TMP/$key-wrk.out" "$TMP/$key-wrk.err" \
		"${LOAD_CPU[@]}" wrk -t1 -c"$CONNS" -d"${WRK_SECS}s" --latency "$url" || rc=$?
	if [[ -n $cpid ]]; then
		wait "$cpid" || crc=$?
		forget "$cpid"
	fi
	if ((rc != 0)) || ! line=$(parse_wrk <"$TMP/$key-wrk.out"); then
		NOTE[$key]="wrk failed: $(head -n 1 "$TMP/$key-wrk.err")"
		FAILED=1
		log "$key: ${NOTE[$key]}"
		return 0
	fi
	if [[ -n $cpid ]]; then
		if ((crc != 0)); then
			NOTE[$key]="CPU measurement failed: $(head -n 1 "$TMP/$key-cpu.err")"
			FAILED=1
			log "$key: ${NOTE[$key]}"
			return 0
		fi
		cpu=$(head -n 1 "$TMP/$key-cpu.out")
		# CPU per request: the CPU time of the window over the requests
		# wrk's average rate served in it.
		line+=$(awk -v rps="$(kv "$line" rps)" -v sec="$(kv "$cpu" seconds)" -v us="$(kv "$cpu" cpu_us)" \
			'BEGIN { printf " cpu_us_per_req=%.2f", (rps * sec > 0 ? us / (rps * sec) : 0) }')
		line+=" ${cpu#* cpu_us=* }"
	fi
	log "  $line"
	if [[ $(kv "$line" errors) != 0 || $(kv "$line" non2xx) != 0 ]]; then
		NOTE[$key]="wrk saw $(kv "$line" errors) socket errors and $(kv "$line" non2xx) non-2xx/3xx responses"
		FAILED=1
		log "$key: ${NOTE[$key]}"
		return 0
	fi
	RESULT[$key]=$line
}

# run_idle KEY ADDR PIDS: the idle keep-alive memory figure, in IDLE[KEY].
run_idle() {
	local key=$1 addr=$2 pids=$3 rc=0 line
	log "$key: $IDLE_CONNS idle keep-alive connections to $addr"
	in_bg "$TMP/$key.out" "$TMP/$key.err" \
		"${LOAD_CPU[@]}" "$TMP/tcpload" -idle "$IDLE_CONNS" -addr "$addr" -pid "$pids" || rc=$?
	line=$(head -n 1 "$TMP/$key.out")
	if ((rc == 0)); then
		IDLE[$key]=$line
		log "  $line"
	else
		IDLE_NOTE[$key]="failed: $(head -n 1 "$TMP/$key.err")"
		FAILED=1
		log "$key: ${IDLE_NOTE[$key]}"
	fi
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

# start_nginx NAME PORT CFG: start nginx (master and one worker) with CFG.
# Sets PROXY_PID (the master) and NGINX_PIDS ("master,worker").
start_nginx() {
	local name=$1 port=$2 cfg=$3 worker i
	mkdir -p "$TMP/$name"
	start_proxy "$name" "$port" nginx -p "$TMP/$name/" -e "$TMP/$name-error.log" -c "$cfg" -g 'daemon off;' || return 1
	for ((i = 0; i < 100; i++)); do
		worker=$(pgrep -P "$PROXY_PID" | head -n 1 || true)
		[[ -n $worker ]] && break
		sleep 0.05
	done
	if [[ -z $worker ]]; then
		NOTE[$name]="no worker process appeared"
		FAILED=1
		log "$name: ${NOTE[$name]}"
		stop "$PROXY_PID"
		return 1
	fi
	NGINX_PIDS=$PROXY_PID,$worker
}

free_port() { "$TMP/tcpload" -freeport; }

# start_backend NAME CMD...: start a backend pinned to the load core; it
# prints its address on its first line. Sets BACKEND and BACKEND_PID.
start_backend() {
	local name=$1 i
	shift
	: >"$TMP/$name.out"
	"${LOAD_CPU[@]}" "$@" >"$TMP/$name.out" 2>"$TMP/$name.log" &
	BACKEND_PID=$!
	PIDS+=("$BACKEND_PID")
	BACKEND=""
	for ((i = 0; i < 100; i++)); do
		BACKEND=$(head -n 1 "$TMP/$name.out")
		[[ -n $BACKEND ]] && break
		kill -0 "$BACKEND_PID" 2>/dev/null || break
		sleep 0.05
	done
	if [[ -z $BACKEND ]]; then
		log "$name backend did not start:"
		cat "$TMP/$name.log" >&2
		exit 1
	fi
	log "$name backend on $BACKEND"
}

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

# missing NAME KEY...: note that NAME is not installed on each KEY.
missing() {
	local name=$1 k
	shift
	for k in "$@"; do
		NOTE[$k]="not installed (apt-get install $name)"
	done
	log "$name: not installed (apt-get install $name)"
}

# ---- tcp targets ---------------------------------------------------------

tcp_direct() {
	run_load tcp-direct "$BACKEND"
}

tcp_mosn() { tcp_mosn_as mosn ""; }
tcp_mosn-netpoll() { tcp_mosn_as mosn-netpoll ',"use_netpoll_mode":true'; }

# tcp_mosn_as TARGET SERVER_KEYS: the mosn target, SERVER_KEYS added to its server.
tcp_mosn_as() {
	local key=tcp-$1
	if [[ -n $MOSN_SKIP ]]; then
		NOTE[$key]=$MOSN_SKIP
		return 0
	fi
	local port cfg
	port=$(free_port)
	cfg=$TMP/$key.json
	cat >"$cfg" <<EOF
{"servers":[{"default_log_path":"stdout","default_log_level":"ERROR"$2,"listeners":[{"name":"bench","address":"127.0.0.1:$port","bind_port":true,"filter_chains":[{"filters":[{"type":"tcp_proxy","config":{"cluster":"backend"}}]}]}]}],
 "cluster_manager":{"clusters":[{"name":"backend","type":"SIMPLE","lb_type":"LB_ROUNDROBIN","hosts":[{"address":"$BACKEND"}]}]}}
EOF
	start_proxy "$key" "$port" env GOMAXPROCS=1 "$MOSN_BIN" start -c "$cfg" --pid-file "$TMP/$key.pid" || return 0
	run_load "$key" "127.0.0.1:$port" "$PROXY_PID"
	stop "$PROXY_PID"
}

tcp_haproxy() {
	if ! command -v haproxy >/dev/null; then
		missing haproxy tcp-haproxy
		return 0
	fi
	local port cfg
	port=$(free_port)
	cfg=$TMP/tcp-haproxy.cfg
	cat >"$cfg" <<EOF
global
	nbthread 1
	maxconn $MAXCONN
	pidfile $TMP/tcp-haproxy.pid
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
	check_haproxy tcp-haproxy "$cfg" || return 0
	start_proxy tcp-haproxy "$port" haproxy -f "$cfg" -db || return 0
	run_load tcp-haproxy "127.0.0.1:$port" "$PROXY_PID"
	stop "$PROXY_PID"
}

# check_haproxy KEY CFG: haproxy -c, noting a rejection on KEY.
check_haproxy() {
	haproxy -c -f "$2" >"$TMP/$1-check.log" 2>&1 && return 0
	NOTE[$1]="config rejected: $(tail -n 1 "$TMP/$1-check.log")"
	FAILED=1
	log "$1: ${NOTE[$1]}"
	return 1
}

tcp_nginx() {
	if ! command -v nginx >/dev/null; then
		missing nginx tcp-nginx
		return 0
	fi
	local load_module port cfg
	if ! load_module=$(nginx_stream_module); then
		NOTE[tcp-nginx]="no stream module (apt-get install libnginx-mod-stream)"
		log "nginx: ${NOTE[tcp-nginx]}"
		return 0
	fi
	port=$(free_port)
	cfg=$TMP/tcp-nginx.conf
	# A master with one worker, as nginx runs in production; the CPU of both
	# is summed (the master is idle while serving).
	cat >"$cfg" <<EOF
$load_module
worker_processes 1;
pid $TMP/tcp-nginx.pid;
error_log $TMP/tcp-nginx-error.log error;
events { worker_connections $((2 * MAXCONN)); }
stream {
	upstream backend { server $BACKEND; }
	server {
		listen 127.0.0.1:$port;
		proxy_pass backend;
	}
}
EOF
	start_nginx tcp-nginx "$port" "$cfg" || return 0
	run_load tcp-nginx "127.0.0.1:$port" "$NGINX_PIDS"
	stop "$PROXY_PID"
}

# ---- http targets --------------------------------------------------------

http_direct() {
	run_wrk http-direct "http://$BACKEND/"
}

# mosn_http_config FILE PORT [SERVER_KEYS]: an HTTP/1.1 proxy listener on
# PORT, every path routed to the backend cluster.
mosn_http_config() {
	cat >"$1" <<EOF
{"servers":[{"default_log_path":"stdout","default_log_level":"ERROR"${3:-},
  "routers":[{"router_config_name":"r","virtual_hosts":[{"name":"v","domains":["*"],"routers":[{"match":{"prefix":"/"},"route":{"cluster_name":"backend"}}]}]}],
  "listeners":[{"name":"bench","address":"127.0.0.1:$2","bind_port":true,"filter_chains":[{"filters":[{"type":"proxy","config":{"downstream_protocol":"Http1","upstream_protocol":"Http1","router_config_name":"r"}}]}]}]}],
 "cluster_manager":{"clusters":[{"name":"backend","type":"SIMPLE","lb_type":"LB_ROUNDROBIN","hosts":[{"address":"$BACKEND"}]}]}}
EOF
}

http_mosn() { http_mosn_as mosn ""; }
http_mosn-netpoll() { http_mosn_as mosn-netpoll ',"use_netpoll_mode":true'; }

# http_mosn_as TARGET SERVER_KEYS: the mosn target, SERVER_KEYS added to its server.
http_mosn_as() {
	local key=http-$1
	if [[ -n $MOSN_SKIP ]]; then
		NOTE[$key]=$MOSN_SKIP
		return 0
	fi
	local port name
	port=$(free_port)
	mosn_http_config "$TMP/$key.json" "$port" "$2"
	if start_proxy "$key" "$port" env GOMAXPROCS=1 "$MOSN_BIN" start -c "$TMP/$key.json" --pid-file "$TMP/$key.pid"; then
		run_wrk "$key" "http://127.0.0.1:$port/" "$PROXY_PID"
		stop "$PROXY_PID"
	fi
	((IDLE_CONNS > 0)) || return 0
	# A fresh process, so that the load run's garbage does not lend the
	# idle connections memory the baseline already counted.
	name=idle-$1
	port=$(free_port)
	mosn_http_config "$TMP/$name.json" "$port" "$2"
	if ! start_proxy $name "$port" env GOMAXPROCS=1 "$MOSN_BIN" start -c "$TMP/$name.json" --pid-file "$TMP/$name.pid"; then
		IDLE_NOTE[$name]="did not start, see its log (BENCH_KEEP=1)"
		return 0
	fi
	run_idle $name "127.0.0.1:$port" "$PROXY_PID"
	stop "$PROXY_PID"
}

http_haproxy() {
	if ! command -v haproxy >/dev/null; then
		missing haproxy http-haproxy
		return 0
	fi
	local port cfg
	port=$(free_port)
	cfg=$TMP/http-haproxy.cfg
	# No "log global" in defaults: no proxy in the http scenario logs
	# requests.
	cat >"$cfg" <<EOF
global
	nbthread 1
	maxconn $MAXCONN
	pidfile $TMP/http-haproxy.pid
	log stderr format raw local0 err

defaults
	mode http
	http-reuse always
	timeout connect 5s
	timeout client 60s
	timeout server 60s

frontend bench
	bind 127.0.0.1:$port
	default_backend backend

backend backend
	server httpecho $BACKEND
EOF
	check_haproxy http-haproxy "$cfg" || return 0
	start_proxy http-haproxy "$port" haproxy -f "$cfg" -db || return 0
	run_wrk http-haproxy "http://127.0.0.1:$port/" "$PROXY_PID"
	stop "$PROXY_PID"
}

# nginx_http_config NAME PORT: an HTTP reverse proxy on PORT in
# $TMP/NAME.conf. keepalive_requests are raised from 1000 on both sides:
# at ~1000 requests per connection and second, the default would close
# every load connection and every upstream connection each second, which
# mosn and haproxy do not do. worker_connections is sized for the idle
# connections; nginx allocates its connection slots at start.
nginx_http_config() {
	local name=$1 port=$2 d=$TMP/$1
	mkdir -p "$d"
	cat >"$TMP/$name.conf" <<EOF
worker_processes 1;
pid $TMP/$name.pid;
error_log $TMP/$name-error.log error;
events { worker_connections $((IDLE_CONNS + MAXCONN)); }
http {
	access_log off;
	keepalive_timeout 300s;
	keepalive_requests 1000000000;
	client_body_temp_path $d/body;
	proxy_temp_path $d/proxy;
	fastcgi_temp_path $d/fastcgi;
	uwsgi_temp_path $d/uwsgi;
	scgi_temp_path $d/scgi;
	upstream backend {
		server $BACKEND;
		keepalive 64;
		keepalive_requests 1000000000;
	}
	server {
		listen 127.0.0.1:$port;
		location / {
			proxy_pass http://backend;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
		}
	}
}
EOF
}

http_nginx() {
	if ! command -v nginx >/dev/null; then
		missing nginx http-nginx
		return 0
	fi
	local port name
	port=$(free_port)
	nginx_http_config http-nginx "$port"
	if start_nginx http-nginx "$port" "$TMP/http-nginx.conf"; then
		run_wrk http-nginx "http://127.0.0.1:$port/" "$NGINX_PIDS"
		stop "$PROXY_PID"
	fi
	((IDLE_CONNS > 0)) || return 0
	name=idle-nginx
	port=$(free_port)
	nginx_http_config $name "$port"
	if ! start_nginx $name "$port" "$TMP/$name.conf"; then
		IDLE_NOTE[$name]="did not start, see its log (BENCH_KEEP=1)"
		return 0
	fi
	run_idle $name "127.0.0.1:$port" "$NGINX_PIDS"
	stop "$PROXY_PID"
}

# ---- run -----------------------------------------------------------------

# kv LINE KEY prints the value of KEY in a key=value line, "-" if absent.
kv() {
	local v
	v=$(tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p")
	echo "${v:--}"
}

HAVE_WRK=1
for s in $SCENARIOS; do
	case $s in
	tcp)
		start_backend echo "$TMP/echo" -addr 127.0.0.1:0
		for t in $TARGETS; do
			"tcp_$t"
		done
		;;
	http)
		if ! command -v wrk >/dev/null; then
			HAVE_WRK=0
			keys=()
			for t in $TARGETS; do
				keys+=("http-$t")
			done
			missing wrk "${keys[@]}"
			continue
		fi
		start_backend httpecho "$TMP/httpecho" -addr 127.0.0.1:0 -size "$SIZE" -mode "$HTTP_BACKEND"
		for t in $TARGETS; do
			"http_$t"
		done
		;;
	esac
	stop "$BACKEND_PID"
done

# ---- report --------------------------------------------------------------

# ratio A B prints A/B with two decimals, "-" unless both are numbers.
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b + 0 > 0) printf "%.2f", a / b; else printf "-" }'
}

# table SCENARIO: one row per target.
table() {
	local s=$1 ha_rps ha_cpu ng_cpu t line rps cpu
	ha_rps=$(kv "${RESULT[$s-haproxy]:-}" rps)
	ha_cpu=$(kv "${RESULT[$s-haproxy]:-}" cpu_us_per_req)
	ng_cpu=$(kv "${RESULT[$s-nginx]:-}" cpu_us_per_req)
	printf '%-12s %-10s %-7s %-7s %-10s %-8s %-14s %-14s %s\n' \
		target rps p50_us p99_us cpu_us/req cpu_pct rps_vs_haproxy cpu_vs_haproxy cpu_vs_nginx
	for t in $TARGETS; do
		line=${RESULT[$s-$t]:-}
		if [[ -z $line ]]; then
			printf '%-12s %s\n' "$t" "${NOTE[$s-$t]:-no result}"
			continue
		fi
		rps=$(kv "$line" rps)
		cpu=$(kv "$line" cpu_us_per_req)
		printf '%-12s %-10s %-7s %-7s %-10s %-8s %-14s %-14s %s\n' "$t" "$rps" \
			"$(kv "$line" p50_us)" "$(kv "$line" p99_us)" "$cpu" "$(kv "$line" cpu_pct)" \
			"$(ratio "$rps" "$ha_rps")" "$(ratio "$cpu" "$ha_cpu")" "$(ratio "$cpu" "$ng_cpu")"
	done
}

# warnings SCENARIO flags rows whose core was shared: CPU 0 busier than the
# proxy on it by more than 10 points, or a hypervisor taking more than 5%.
warnings() {
	local s=$1 t line
	for t in $TARGETS; do
		line=${RESULT[$s-$t]:-}
		[[ -n $line ]] || continue
		awk -v t="$t" -v cpu="$(kv "$line" cpu_pct)" -v core="$(kv "$line" core_pct)" -v steal="$(kv "$line" steal_pct)" 'BEGIN {
			if (core ~ /^[0-9.]+$/ && cpu ~ /^[0-9.]+$/ && core - cpu > 10)
				printf "warning: %s: CPU 0 was %.0f%% busy, the proxy used %.0f%%: other processes shared its core, rerun on a quiet machine\n", t, core, cpu
			if (steal ~ /^[0-9.]+$/ && steal > 5)
				printf "warning: %s: the hypervisor took %.0f%% of CPU 0 (steal)\n", t, steal
		}'
	done
}

# idle_table: the idle keep-alive memory of mosn and nginx.
idle_table() {
	local t line
	printf '%-12s %-6s %-14s %-13s %s\n' target conns rss_before_kib rss_after_kib kib_per_conn
	for t in $TARGETS; do
		[[ $t == mosn || $t == mosn-netpoll || $t == nginx ]] || continue
		line=${IDLE[idle-$t]:-}
		if [[ -z $line ]]; then
			printf '%-12s %s\n' "$t" "${IDLE_NOTE[idle-$t]:-${NOTE[http-$t]:-no result}}"
			continue
		fi
		printf '%-12s %-6s %-14s %-13s %s\n' "$t" "$(kv "$line" conns)" "$(kv "$line" rss_before_kib)" \
			"$(kv "$line" rss_after_kib)" "$(kv "$line" kib_per_conn)"
	done
}

versions() {
	echo "go: $(go version | cut -d' ' -f3-)"
	command -v haproxy >/dev/null && echo "haproxy: $(haproxy -v 2>&1 | head -n 1 | cut -d' ' -f3)"
	command -v nginx >/dev/null && echo "nginx: $(nginx -v 2>&1 | cut -d/ -f2)"
	command -v wrk >/dev/null && echo "wrk: $(wrk -v 2>&1 | head -n 1 | cut -d' ' -f2)"
	return 0
}

# raw SCENARIO: the key=value lines behind the table.
raw() {
	local t
	for t in $TARGETS; do
		[[ -n ${RESULT[$1-$t]:-} ]] && echo "$t: ${RESULT[$1-$t]}"
	done
	return 0
}

{
	echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
	echo "kernel: $(uname -r)"
	echo "nproc: $(nproc)"
	versions
	echo "pinning: proxy on CPU 0 (mosn GOMAXPROCS=1), load generator and backend on CPU 1"
	for s in $SCENARIOS; do
		case $s in
		tcp)
			echo
			echo "tcp: tcpload conns=$CONNS size=${SIZE}B warmup=$WARMUP duration=$DURATION, echo backend"
			echo
			table tcp
			warnings tcp
			;;
		http)
			echo
			echo "http: wrk -t1 -c$CONNS -d${WRK_SECS}s --latency after a ${WRK_WARMUP_S}s warm-up run; GET /, ${SIZE}-byte response body, httpecho -mode $HTTP_BACKEND backend"
			echo
			table http
			warnings http
			if ((HAVE_WRK && IDLE_CONNS > 0)) && [[ " $TARGETS " == *" mosn"* || " $TARGETS " == *" nginx "* ]]; then
				echo
				echo "idle keep-alive cost: $IDLE_CONNS connections, one request each, then idle; proxy RSS (nginx: master + worker)"
				echo
				idle_table
			fi
			;;
		esac
	done
	for s in $SCENARIOS; do
		echo
		case $s in
		tcp) echo "raw tcpload lines:" ;;
		http) echo "raw http lines (wrk parsed; cpu from tcpload -cpu-of):" ;;
		esac
		raw "$s"
	done
	if ((${#IDLE[@]})); then
		echo
		echo "raw idle lines (tcpload -idle):"
		for t in mosn mosn-netpoll nginx; do
			[[ -n ${IDLE[idle-$t]:-} ]] && echo "$t: ${IDLE[idle-$t]}"
		done
	fi
	true
} >"$TMP/report.txt"
cp "$TMP/report.txt" "$BENCH_DIR/last-run.txt"
echo
cat "$TMP/report.txt"
if ((FAILED)); then
	log "some targets failed, see above"
	exit 1
fi

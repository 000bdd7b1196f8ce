# Shell helpers shared by bolt.sh and h2.sh; sourced after they set TMP
# (a temp dir removed on exit) and PIDS (the processes they started).

log() { printf '%s\n' "$*" >&2; }

# cleanup stops every process the script started, by PID, and removes TMP.
cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
	rm -rf "$TMP"
}
trap cleanup EXIT

# The proxy on core 0, load and backend on core 1.
if (($(nproc) >= 2)); then
	PROXY_CPU=(taskset -c 0)
	LOAD_CPU=(taskset -c 1)
else
	log "warning: fewer than 2 CPUs: nothing pinned"
	PROXY_CPU=()
	LOAD_CPU=()
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# wait_ready PORT PID NAME: until PID listens on PORT (10 s at most).
wait_ready() {
	local port=$1 pid=$2 name=$3 deadline=$((SECONDS + 10))
	while ((SECONDS < deadline)); do
		kill -0 "$pid" 2>/dev/null || {
			log "$name exited:"
			tail -n 20 "$TMP/$name.log" >&2
			return 1
		}
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
		sleep 0.05
	done
	log "$name: not listening on $port"
	return 1
}

# cpu_ticks PID: utime+stime of the process (all its threads).
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# build_mosn: MOSN is BENCH_MOSN, or ./cmd/mosn built into TMP.
build_mosn() {
	MOSN=${BENCH_MOSN:-$TMP/mosn}
	[[ -n ${BENCH_MOSN:-} ]] || go build -o "$MOSN" ./cmd/mosn
}

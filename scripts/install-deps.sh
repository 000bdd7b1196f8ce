#!/usr/bin/env bash
# Installs what the tests (or the benchmark) need on a fresh Debian machine.
# Idempotent: packages already present are left alone.
set -euo pipefail

want=()
case "${1:-test}" in
  test)  want=(curl wrk prometheus nghttp2-client nghttp2-server) ;;   # prometheus: test/metrics_prometheus_test.go; nghttp2-*: h2load, nghttpd for test/h2_peers_test.go
  bench) want=(haproxy nginx libnginx-mod-stream wrk util-linux nghttp2-client nghttp2-server) ;;   # util-linux: taskset; nghttp2-*: h2load, nghttpd for h2.sh
  *) echo "usage: $0 test|bench" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
go mod download
if [ "${1:-test}" = bench ] && ! command -v ghz >/dev/null && [ ! -x "$(go env GOPATH)/bin/ghz" ]; then
  go install github.com/bojand/ghz/cmd/ghz@v0.93.0 # gRPC load for test/bench/h2.sh
fi
if [ "${1:-test}" = test ]; then
  # The RPC tests' real bolt and Dubbo peers (test/rpc/package.json, exact
  # versions, locked); Node 20 is preinstalled.
  npm ci --prefix "$(dirname "$0")/../test/rpc" --no-audit --no-fund --loglevel=error
fi

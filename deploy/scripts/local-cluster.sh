#!/usr/bin/env bash
# Starts, shows or stops an N-node llmrt cluster on loopback, one JVM per node.
#
#   deploy/scripts/local-cluster.sh start 3 [-- extra 'llmrt serve' options]
#   deploy/scripts/local-cluster.sh status
#   deploy/scripts/local-cluster.sh stop
#
# Node i listens for HTTP on 12434+i-1 and for the cluster on 25520+i-1; node 1 is the seed the
# others join. Each node's log is in $LLMRT_CLUSTER_DIR (default /tmp/llmrt-local-cluster).
# Set LLMRT_CONFIG to a HOCON file (model catalog, declared GPUs) that every node loads.
set -euo pipefail
cd "$(dirname "$0")/../.."
dir="${LLMRT_CLUSTER_DIR:-/tmp/llmrt-local-cluster}"
jar=deploy/target/llmrt.jar

start() {
  local n="${1:-3}"; shift || true
  [ "${1:-}" = "--" ] && shift
  if [ -e "$dir/pids" ]; then echo "local-cluster: already running (see '$0 status')" >&2; exit 1; fi
  [ -f "$jar" ] || { bash deploy/scripts/setup.sh; mvn -q -B -DskipTests install; }
  mkdir -p "$dir"
  local seed="pekko://llmrt@127.0.0.1:25520"
  for i in $(seq 1 "$n"); do
    local http=$((12434 + i - 1)) cport=$((25520 + i - 1)) args=()
    [ "$i" -gt 1 ] && args+=(--seed-node "$seed")
    [ -n "${LLMRT_CONFIG:-}" ] && args+=(--config "$LLMRT_CONFIG")
    java -jar "$jar" serve --port "$http" --cluster-port "$cport" --state-dir "$dir/state-$i" "${args[@]}" "$@" >"$dir/node-$i.log" 2>&1 &
    echo "$! $i $http $cport" >>"$dir/pids"
  done
  for i in $(seq 1 "$n"); do
    local http=$((12434 + i - 1))
    for _ in $(seq 1 300); do
      curl -sf "http://127.0.0.1:$http/v1/models" >/dev/null 2>&1 && break
      sleep 0.2
    done
  done
  status
}

status() {
  [ -e "$dir/pids" ] || { echo "local-cluster: not running"; return 0; }
  while read -r pid i http cport; do
    local state=stopped
    kill -0 "$pid" 2>/dev/null && state=running
    echo "node $i: http://127.0.0.1:$http  cluster pekko://llmrt@127.0.0.1:$cport  pid $pid ($state)  log $dir/node-$i.log"
  done <"$dir/pids"
}

stop() {
  [ -e "$dir/pids" ] || { echo "local-cluster: not running"; return 0; }
  # SIGTERM: each node leaves the cluster gracefully and reaps its runners
  while read -r pid _; do kill -TERM "$pid" 2>/dev/null || true; done <"$dir/pids"
  for _ in $(seq 1 150); do
    alive=0
    while read -r pid _; do kill -0 "$pid" 2>/dev/null && alive=1; done <"$dir/pids"
    [ "$alive" = 0 ] && break
    sleep 0.2
  done
  while read -r pid _; do kill -KILL "$pid" 2>/dev/null || true; done <"$dir/pids"
  rm -f "$dir/pids"
  echo "local-cluster: stopped"
}

case "${1:-}" in
  start) shift; start "$@" ;;
  status) status ;;
  stop) stop ;;
  *) echo "usage: $0 start [N] [-- serve options] | status | stop" >&2; exit 2 ;;
esac

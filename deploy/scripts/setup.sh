#!/usr/bin/env bash
# Installs what the build and tests need on a fresh Debian machine, where it is missing: JDK 17 and
# Maven; cmake, g++, git and npm to build llama-server; nginx and wrk for the benchmark; prometheus
# (and promtool) for the metrics tests; docker-registry for the model store tests; chromium and npm playwright-core for the dashboard test;
# npm ollama, @anthropic-ai/sdk and openai for the client libraries' test.
set -euo pipefail
cd "$(dirname "$0")/../.."
need=()
command -v javac >/dev/null 2>&1 || need+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null 2>&1 || need+=(maven)
# to build llama-server from source (deploy/scripts/install-llama-server.sh)
command -v cmake >/dev/null 2>&1 || need+=(cmake)
command -v g++ >/dev/null 2>&1 || need+=(g++)
command -v git >/dev/null 2>&1 || need+=(git)
command -v npm >/dev/null 2>&1 || need+=(npm)
# the benchmark's reference proxy and load generator (llmrt bench, BenchmarkIT)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
command -v wrk >/dev/null 2>&1 || need+=(wrk)
# the metrics tests: promtool parses /metrics, a real Prometheus scrapes a node
command -v prometheus >/dev/null 2>&1 || need+=(prometheus)
# the model store tests push to and pull from a real OCI registry (the CNCF Distribution server)
[ -x /usr/bin/docker-registry ] || need+=(docker-registry)
# the TLS test makes its CA and certificates with openssl
[ -x /usr/bin/openssl ] || need+=(openssl)
# the dashboard test drives Debian's chromium with playwright-core
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
# playwright-core for the dashboard test (no browser download: it drives the chromium above)
if [ ! -d deploy/src/test/dashboard/node_modules/playwright-core ]; then
  (cd deploy/src/test/dashboard && npm install --no-audit --no-fund --no-package-lock --silent) >&2
fi
# the official client libraries of the APIs the gateway speaks, for ClientLibrariesTest
if [ ! -d deploy/src/test/clients/node_modules/openai ]; then
  (cd deploy/src/test/clients && npm install --no-audit --no-fund --no-package-lock --silent) >&2
fi

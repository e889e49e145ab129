#!/usr/bin/env bash
# Runs every test of the project, installing what they need first: JDK and Maven, and llama.cpp's
# llama-server (built once from source, offline, then cached under ~/.cache).
set -euo pipefail
cd "$(dirname "$0")/../.."
bash deploy/scripts/setup.sh
LLAMA_SERVER="$(bash deploy/scripts/install-llama-server.sh | tail -n 1)"
export LLAMA_SERVER
echo "test: llama-server at $LLAMA_SERVER"
mvn -B -ntp verify "$@"

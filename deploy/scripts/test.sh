#!/usr/bin/env bash
# Runs every test of the project, installing what they need first.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash deploy/scripts/setup.sh
mvn -B -ntp verify "$@"

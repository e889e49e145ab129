#!/usr/bin/env bash
# Builds llmrt and starts it on its embedded default: the OpenAI API on 127.0.0.1:12434 with a
# catalog of sim models. Extra arguments go to 'llmrt serve' (try --help).
set -euo pipefail
cd "$(dirname "$0")/../.."
bash deploy/scripts/setup.sh
mvn -q -B -DskipTests install
exec java -jar deploy/target/llmrt.jar serve "$@"

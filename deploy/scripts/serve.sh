#!/usr/bin/env bash
# Builds llmrt and starts it on its embedded default: the OpenAI API on 127.0.0.1:12434 with a
# catalog of sim models. Extra arguments go to 'llmrt serve' (try --help).
set -euo pipefail
cd "$(dirname "$0")/../.."
bash deploy/scripts/setup.sh
mvn -q -B -DskipTests install
jar=deploy/target/llmrt.jar
archive=deploy/target/llmrt.jsa
# AppCDS: one start that exits when ready records the classes serve loads; later starts map them
# from the archive instead of loading and verifying them (start-up about 40% shorter). A new jar
# gets a new archive.
if [ ! -f "$archive" ] || [ "$jar" -nt "$archive" ]; then
  rm -f "$archive"
  sockets="$(mktemp -d)"
  java -XX:ArchiveClassesAtExit="$archive" -jar "$jar" serve --port 0 --socket-dir "$sockets" --state-dir "$sockets/state" --exit-when-ready \
    >/dev/null 2>&1 || echo "serve: no class archive (start-up is slower, nothing else changes)" >&2
  rm -rf "$sockets"
fi
cds=()
[ -f "$archive" ] && cds=(-XX:SharedArchiveFile="$archive")
exec java "${cds[@]}" -jar "$jar" serve "$@"

#!/usr/bin/env bash
# Installs the official client libraries the integration tests drive against a live `ebb serve`
# (tests/clients/), pinned, into a cache outside the repo. Idempotent. Prints the directory.
set -euo pipefail
OLLAMA_JS=0.6.4
OPENAI_JS=7.60.0
DIR="${EBB_CACHE:-$HOME/.cache/ebb}/clients"
STAMP="$DIR/.installed-ollama-$OLLAMA_JS-openai-$OPENAI_JS"
if [[ ! -f "$STAMP" ]]; then
  rm -rf "$DIR" && mkdir -p "$DIR"
  echo '{"private": true}' >"$DIR/package.json"
  (cd "$DIR" && npm install --silent --no-audit --no-fund "ollama@$OLLAMA_JS" "openai@$OPENAI_JS" >/dev/null)
  touch "$STAMP"
fi
echo "$DIR"

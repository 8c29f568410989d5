#!/usr/bin/env bash
# The main job: set up, generate a demo model, start `ebb serve`, stream one answer with
# `ebb run`, then keep serving in the foreground (Ctrl-C stops it). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

MODELS="${EBB_MODELS:-$HOME/.ebb/models}"
HOST="${EBB_HOST:-127.0.0.1:11434}"
export EBB_MODELS="$MODELS" EBB_HOST="$HOST"
mkdir -p "$MODELS"
[[ -f "$MODELS/demo.gguf" ]] || build/ebb synth --out "$MODELS/demo.gguf" --params 50M --quant q8_0 --seed 7

if curl -fsS "http://$HOST/" >/dev/null 2>&1; then
  echo "demo: a server already answers on $HOST; using it"
  build/ebb run demo "Write a haiku about memory." --num-predict 64 --verbose
  exit 0
fi
build/ebb serve &
SERVE=$!
trap 'kill $SERVE 2>/dev/null || true' INT TERM EXIT
for _ in $(seq 100); do curl -fsS "http://$HOST/" >/dev/null 2>&1 && break; sleep 0.1; done
build/ebb run demo "Write a haiku about memory." --num-predict 64 --verbose
echo "demo: ebb serve is running on $HOST (models in $MODELS); Ctrl-C to stop"
wait $SERVE

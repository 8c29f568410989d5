#!/usr/bin/env bash
# Checks every tracked C++ file under src/ and tests/ against .clang-format (no file is changed).
# Prints each file clang-format would change and exits 1 if there is any; 2 if clang-format is missing.
#   scripts/format-check.sh            all of src/ and tests/
#   scripts/format-check.sh FILE...    only these files
#   CLANG_FORMAT=/path/to/clang-format scripts/format-check.sh
# Fix a file with the same binary: `clang-format-14 -i FILE`.
set -euo pipefail
cd "$(dirname "$0")/.."

cf="${CLANG_FORMAT:-}"
if [[ -z "$cf" ]]; then
  for c in clang-format-14 clang-format; do
    if command -v "$c" >/dev/null 2>&1; then cf="$c"; break; fi
  done
fi
if [[ -z "$cf" ]] || ! command -v "$cf" >/dev/null 2>&1; then
  echo "format-check: clang-format not found (apt-get install clang-format-14, or set CLANG_FORMAT)" >&2
  exit 2
fi

if [[ $# -gt 0 ]]; then
  files=("$@")
else
  mapfile -t files < <(git ls-files -- 'src/*.h' 'src/*.cpp' 'tests/*.h' 'tests/*.cpp')
fi

bad=0
for f in "${files[@]}"; do
  [[ -f "$f" ]] || continue
  if ! "$cf" --style=file --dry-run --Werror "$f" >/dev/null 2>&1; then
    echo "$f"
    bad=$((bad + 1))
  fi
done

if [[ $bad -gt 0 ]]; then
  echo "format-check: $bad of ${#files[@]} files differ from .clang-format ($("$cf" --version | head -1)); fix with: $cf -i FILE" >&2
  exit 1
fi
echo "format-check: ${#files[@]} files match .clang-format ($("$cf" --version | head -1))"

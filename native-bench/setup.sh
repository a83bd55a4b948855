#!/usr/bin/env bash
# Installs the native reference tools the benchmarks run next to ours. Idempotent: installs only what
# is missing, and skips apt-get update when everything is already there.
set -euo pipefail

# command → Debian package; tesseract language data is checked by file, not by command.
declare -A tools=(
  [zstd]=zstd
  [openssl]=openssl
  [pdftotext]=poppler-utils
  [tesseract]=tesseract-ocr
)
missing=()
for cmd in "${!tools[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${tools[$cmd]}")
done
for lang in deu eng; do
  if ! dpkg-query -W -f='${Status}' "tesseract-ocr-$lang" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("tesseract-ocr-$lang")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "bench:setup: all native tools present"
else
  echo "bench:setup: installing ${missing[*]}"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The FTS5 reference (better-sqlite3@12, a devDependency) needs its native addon. Its install step
# downloads a prebuilt binary or compiles against Node's headers; where neither is reachable it is
# missing, and the index benchmark reports the reference as unavailable instead of failing the run.
fts5_ok() { node -e "require('better-sqlite3')(':memory:').exec('CREATE VIRTUAL TABLE t USING fts5(x)')" >/dev/null 2>&1; }
if ! fts5_ok; then
  echo "bench:setup: better-sqlite3 addon missing; trying npm rebuild better-sqlite3"
  npm rebuild better-sqlite3 >/dev/null 2>&1 || true
fi
if fts5_ok; then
  echo "bench:setup: better-sqlite3 with FTS5 ok"
else
  echo "bench:setup: WARNING better-sqlite3 cannot load (no prebuilt binary or Node headers reachable); the SQLite FTS5 reference will be skipped" >&2
fi

zstd --version | head -1
openssl version
pdftotext -v 2>&1 | head -1
tesseract --version 2>&1 | head -1
tesseract --list-langs 2>/dev/null | tr '\n' ' '; echo

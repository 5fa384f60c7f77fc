#!/usr/bin/env bash
# Provisions the Debian programs the test suite reads output formats back with:
# poppler's `pdftoppm` (tests/formats.rs renders our PDFs) and Ghostscript's `gs` (our EPS).
# Idempotent: does nothing when both are on PATH. Installs `poppler-utils` and `ghostscript`
# with apt-get when this user may (root, or password-less sudo); otherwise stops with the
# command to run, so `make test` never fails later with a cryptic "program not found".
set -euo pipefail

missing=()
command -v pdftoppm >/dev/null 2>&1 || missing+=(poppler-utils)
command -v gs >/dev/null 2>&1 || missing+=(ghostscript)
if [ "${#missing[@]}" -eq 0 ]; then
  echo "test-deps: pdftoppm and gs present"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "test-deps: missing ${missing[*]} (pdftoppm, gs) and no apt-get here: install them with your package manager" >&2
  exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  echo "test-deps: missing ${missing[*]}; run: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "test-deps: installing ${missing[*]} with apt-get"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
command -v pdftoppm >/dev/null && command -v gs >/dev/null
echo "test-deps: installed ${missing[*]}"

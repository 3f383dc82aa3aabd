#!/usr/bin/env bash
# Lint, type-check and run the whole test suite, as root on Debian 12. The
# integration tests provision a fresh Samba AD DC of their own for the run (state in
# /tmp/adsuite-test-lab; ADSUITE_KEEP_LAB=1 keeps it and its objects between runs).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install.sh
export PATH="$PWD/.venv/bin:$PATH"

echo "==> ruff"
sources=(adsuite tests)
[ -d benchmarks ] && sources+=(benchmarks)
ruff check "${sources[@]}"
ruff format --check "${sources[@]}"
echo "==> mypy"
mypy adsuite
echo "==> pytest"
pytest -p no:cacheprovider "$@"

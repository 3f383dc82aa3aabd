#!/usr/bin/env bash
# Lint, type-check and run the whole test suite, as root on Debian 12. The
# integration tests provision a fresh Samba AD DC of their own for the run (state in
# /tmp/adsuite-test-lab; ADSUITE_KEEP_LAB=1 keeps it and its objects between runs).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install.sh
export PATH="$PWD/.venv/bin:$PATH"
# The report pages are tested in a real headless browser (tests/browser); the fresh-root
# demo (install.sh) does not need it. A CJK font so the clauses' Chinese text renders.
if ! command -v chromium >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium fonts-wqy-microhei
fi

echo "==> ruff"
sources=(adsuite tests)
[ -d benchmarks ] && sources+=(benchmarks)
ruff check "${sources[@]}"
ruff format --check "${sources[@]}"
echo "==> mypy"
mypy adsuite
echo "==> pytest"
pytest -p no:cacheprovider "$@"

#!/usr/bin/env bash
# The main job, as root on Debian 12: install, start the lab domain controller,
# apply every playbook, check the DC's health, then show that a drift check finds nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install.sh
export PATH="$PWD/.venv/bin:$PATH"

adsuite lab up
adsuite apply playbooks/site.yml -i inventory/lab.yml --yes
adsuite health -i inventory/lab.yml
adsuite drift playbooks/site.yml -i inventory/lab.yml

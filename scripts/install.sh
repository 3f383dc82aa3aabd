#!/usr/bin/env bash
# Install everything adsuite and its tests need on Debian 12, as root:
# Samba (a real AD DC for the lab and the tests), the LDAP client tools used as
# baselines, Samba's Python bindings (a test oracle only), and adsuite itself in
# .venv with its test extras. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "install.sh: run as root (it installs Debian packages)" >&2
  exit 1
fi

# libkrb5-dev, gcc and python3-dev build the gssapi and krb5 packages (the kerberos extra):
# PyPI has no Linux wheels of them.
packages=(samba samba-ad-dc samba-ad-provision winbind krb5-user ldb-tools smbclient ldap-utils python3-samba python3-venv libkrb5-dev gcc python3-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> installing Debian packages: ${missing[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Provisioning reads the AD schema from samba-ad-provision (only a Recommends of
# samba-ad-dc, so --no-install-recommends leaves it out): say so here, not at `lab up`.
schema=/usr/share/samba/setup/ad-schema/AD_DS_Attributes__Windows_Server_2012_R2.ldf
if [ ! -f "$schema" ]; then
  echo "install.sh: $schema is missing: samba-ad-provision did not install; 'adsuite lab up' cannot provision" >&2
  exit 1
fi

# The distribution's own Samba services would hold port 445 and stop the lab DC.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl disable --now smbd nmbd winbind samba-ad-dc >/dev/null 2>&1 || true
fi

if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  python3 -m venv .venv
fi
echo "==> installing adsuite with its test and kerberos extras into .venv"
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test,kerberos]'
# An editable install leaves adsuite's own modules uncompiled, and with
# PYTHONDONTWRITEBYTECODE set (as CI sets it) every `adsuite` process would compile
# all of them again: about 0.3 s of each command. Compile them once here.
.venv/bin/python -m compileall -q -j 0 adsuite

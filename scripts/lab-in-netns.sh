#!/usr/bin/env bash
# Run a private lab DC for development beside other labs on the same machine:
# its own network namespace (its own 127.0.0.1 ports) and its own /run/samba
# (smbd finds winbindd only at the compiled-in /run/samba/winbindd).
#
#   scripts/lab-in-netns.sh NAME up [N]   # create namespace NAME, start a lab of N DCs (default 1)
#                                         # in /tmp/NAME-lab (DCk on 127.0.0.k, docs/lab.md)
#   ip netns exec NAME env ADSUITE_TEST_LAB_DIR=/tmp/NAME-lab ADSUITE_KEEP_LAB=1 .venv/bin/pytest ...
#   scripts/lab-in-netns.sh NAME down     # stop the lab, delete the namespace
set -euo pipefail
cd "$(dirname "$0")/.."
name=${1:?usage: lab-in-netns.sh NAME up|down}
action=${2:?usage: lab-in-netns.sh NAME up|down}
dcs=${3:-1}
state=/tmp/$name-lab
adsuite=$PWD/.venv/bin/adsuite

case "$action" in
  up)
    ip netns list | grep -qw "$name" || { ip netns add "$name"; ip netns exec "$name" ip link set lo up; }
    ip netns exec "$name" unshare -m --propagation private sh -c \
      "mkdir -p /run/samba && mount -t tmpfs none /run/samba && $adsuite lab up --state-dir $state --dcs $dcs"
    ;;
  down)
    ip netns exec "$name" "$adsuite" lab down --state-dir "$state" || true
    ip netns del "$name" 2>/dev/null || true
    ;;
  *) echo "usage: lab-in-netns.sh NAME up|down" >&2; exit 1 ;;
esac

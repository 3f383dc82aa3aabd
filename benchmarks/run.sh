#!/usr/bin/env bash
# The drift benchmark end to end, in order: lab up, seed, benchmark — all inside a
# private network namespace (its own 127.0.0.1, so another lab DC on the machine is
# neither disturbed nor measured) with its own /etc/hosts naming the DC's certificate.
#
#   benchmarks/run.sh [--fresh-lab] [--no-seed] [--down] [SEED FLAGS...] [-- BENCHMARK FLAGS...]
#
#   --fresh-lab   destroy the lab state folder first (a new domain: no tombstones from
#                 earlier seeds, which make every later add slower)
#   --no-seed     benchmark what is already seeded
#   --down        stop the lab and delete the namespace at the end
#   SEED FLAGS    passed to benchmarks/seed.py (e.g. --users 1000 --reset)
#   -- FLAGS      passed to benchmarks/drift_vs_ldapsearch.py (e.g. -- --repeat 7)
#
# Environment: ADSUITE_BENCH_NETNS (adsuite-bench), ADSUITE_BENCH_LAB_DIR
# (/tmp/<netns>-lab), PYTHON (python3). Needs root, Samba and ldap-utils.
set -euo pipefail
cd "$(dirname "$0")/.."

ns=${ADSUITE_BENCH_NETNS:-adsuite-bench}
lab=${ADSUITE_BENCH_LAB_DIR:-/tmp/$ns-lab}
py=${PYTHON:-python3}
fresh=0 seed=1 down=0
seed_args=() bench_args=()
while (($#)); do
  case "$1" in
    --fresh-lab) fresh=1 ;;
    --no-seed) seed=0 ;;
    --down) down=1 ;;
    --) shift; bench_args=("$@"); break ;;
    *) seed_args+=("$1") ;;
  esac
  shift
done

in_ns() { ip netns exec "$ns" env ADSUITE_LAB_DIR="$lab" "$@"; }
lab_py() { in_ns "$py" -c "import sys; from pathlib import Path
from adsuite.lab.samba import Lab, LabConfig
lab = Lab(LabConfig(state_dir=Path(sys.argv[1])))
$1" "$lab"; }

echo "== namespace $ns, lab state folder $lab"
if ! ip netns list | grep -qw "$ns"; then
  ip netns add "$ns"
  ip netns exec "$ns" ip link set lo up
fi
tls_name=$("$py" -c "import sys; from pathlib import Path
from adsuite.lab.samba import Lab, LabConfig
print(Lab(LabConfig(state_dir=Path(sys.argv[1]))).status().tls_name)" "$lab")
mkdir -p "/etc/netns/$ns"  # ip netns exec bind-mounts this over /etc/hosts
printf '127.0.0.1 localhost %s\n' "$tls_name" >"/etc/netns/$ns/hosts"

if ((fresh)); then
  echo "== destroying the lab in $lab"
  lab_py "lab.destroy()"
fi

echo "== lab up"
# smbd looks for winbindd at the compiled-in /run/samba: give this lab its own.
in_ns unshare -m --propagation private sh -c \
  'mkdir -p /run/samba && mount -t tmpfs none /run/samba && exec adsuite lab up --state-dir "$0"' \
  "$lab"

if ((seed)); then
  echo "== seed"
  in_ns "$py" benchmarks/seed.py "${seed_args[@]}"
fi

echo "== benchmark"
status=0
in_ns "$py" benchmarks/drift_vs_ldapsearch.py "${bench_args[@]}" || status=$?

if ((down)); then
  echo "== lab down, namespace $ns deleted"
  in_ns adsuite lab down --state-dir "$lab" || true
  ip netns del "$ns" || true
  rm -rf "/etc/netns/$ns"
fi
exit "$status"

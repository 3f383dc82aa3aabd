#!/bin/sh
# One timed run of benchmarks/apply_vs_ldapadd.py: the next unused input of one side.
#   sh benchmarks/apply_next.sh a|b group|user
#   a: adsuite apply of out/apply/<kind>-a-<k>.yml; b: ldapadd of out/apply/<kind>-b-<k>.ldif
set -eu
side=$1 kind=$2
dir=$(dirname "$0")/out/apply
k=$(cat "$dir/$kind-$side.next")
echo $((k + 1)) >"$dir/$kind-$side.next"
. "$dir/target.env"
if [ "$side" = a ]; then
  exec "${ADSUITE:-adsuite}" apply "$dir/$kind-a-$k.yml" -i "$dir/inventory.yml" --yes >/dev/null
fi
exec env LDAPTLS_CACERT="$CA" LDAPTLS_REQCERT=demand \
  ldapadd -x -H "$URL" -D "$BINDDN" -y "$dir/password" -f "$dir/$kind-b-$k.ldif" >/dev/null

# Sourced by the namespace-cluster tests (tests/scripts/netns_*_test.sh,
# tests/runtime/keeper_netns_test.sh) after they set `dec` and `repo`.
#
# netns_test_setup SCENARIO SUFFIX: exits 77 (ctest: skipped) without root,
# iproute2 or python3-yaml, and 1 without the dec binary; then sets `tool`
# (scripts/netns-cluster), `work` (a new temporary directory), `name`
# (SCENARIO-SUFFIX<pid>, so that a test never touches a cluster someone else
# has up), `spec` (the scenario renamed to it, in $work) and `prefix` (its
# namespaces' names start with it).

skip() { echo "SKIPPED: $*"; exit 77; }

netns_test_setup() {
  local scenario="$1" suffix="$2"
  tool="$repo/scripts/netns-cluster"
  [[ $(id -u) -eq 0 ]] || skip "needs root (network namespaces, veth pairs, tc qdiscs)"
  command -v ip >/dev/null || skip "ip (iproute2) is missing"
  command -v tc >/dev/null || skip "tc (iproute2) is missing"
  command -v python3 >/dev/null || skip "python3 is missing"
  python3 -c 'import yaml' 2>/dev/null || skip "python3-yaml is missing"
  [[ -x "$dec" ]] || { echo "FAIL: no dec binary at $dec"; exit 1; }
  name="$scenario-$suffix$$"
  work="$(mktemp -d)"
  spec="$work/$name.yaml"
  sed "s/^name: $scenario\$/name: $name/" "$repo/scenarios/$scenario.yaml" > "$spec"
  grep -q "^name: $name\$" "$spec" || { echo "FAIL: could not rename scenarios/$scenario.yaml"; exit 1; }
  prefix="dec-$name-"
}

#!/usr/bin/env bash
# serve_all_tiers_test.sh DEC_BINARY REPO -- `dec serve --all-tiers` (docs/inference.md, "One command
# for all tiers"): one command starts the device, edge and cloud of S1's dev0 on this machine; a request
# through the device runs on all three; each tier's output is prefixed with its node; stopping it
# (SIGTERM to it, SIGINT to its process group as Ctrl-C does) leaves no process behind; a tier that
# dies takes the others down with a line naming it; SIGKILL of the command itself ends the tiers too
# (PR_SET_PDEATHSIG); flag errors are one line. Every wait is bounded.
set -uo pipefail

dec="${1:?usage: serve_all_tiers_test.sh DEC_BINARY REPO}"
repo="${2:?usage: serve_all_tiers_test.sh DEC_BINARY REPO}"
command -v python3 >/dev/null || { echo "SKIPPED: python3 is missing"; exit 77; }
work="$(mktemp -d)"
pids_to_reap=()
cleanup() {
  for p in "${pids_to_reap[@]}"; do kill -KILL -- "-$p" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
fail() { echo "FAIL: $*"; [[ -f "$work/log" ]] && sed 's/^/  | /' "$work/log"; exit 1; }
step() { echo "== $*"; }

step "a checkpoint (2 steps on synthetic data)"
"$dec" train --model fmnist-cnn --dataset synthetic --input 1x28x28 --synthetic-size 128 --steps 2 \
  --checkpoint-dir "$work/ckpt" --no-eval --threads 1 >"$work/train.log" 2>&1 ||
  { cat "$work/train.log"; fail "dec train"; }

serve_args=(serve --all-tiers --cluster "$repo/scenarios/S1.yaml" --device dev0 --model fmnist-cnn
            --checkpoint "$work/ckpt" --listen 127.0.0.1:0 --threads 1 --warmup 1)

# Starts `dec serve --all-tiers` in a session of its own (its pid is its process group's id) and waits
# until it names the tiers; sets $parent, $url and $tier_pid[device|edge|cloud].
declare -A tier_pid
start() {
  : >"$work/log"
  setsid "$dec" "${serve_args[@]}" 2>"$work/log" &
  parent=$!
  pids_to_reap+=("$parent")
  for _ in $(seq 1200); do
    grep -q "all tiers ready" "$work/log" && break
    kill -0 "$parent" 2>/dev/null || fail "dec serve --all-tiers ended before its tiers were ready"
    sleep 0.1
  done
  grep -q "all tiers ready" "$work/log" || fail "no 'all tiers ready' within 120 s"
  url=$(sed -n 's/.*requests enter at the device: \(http:[^ ]*\)$/\1/p' "$work/log")
  [[ "$url" == http://127.0.0.1:*/v2/models/fmnist-cnn/infer ]] || fail "no device URL in the output: '$url'"
  for role in device edge cloud; do
    tier_pid[$role]=$(awk -v r="$role" '$1 == r && $4 == "pid" {print $5}' "$work/log")
    [[ "${tier_pid[$role]}" =~ ^[0-9]+$ ]] || fail "no pid for the $role tier"
    kill -0 "${tier_pid[$role]}" 2>/dev/null || fail "the $role tier (pid ${tier_pid[$role]}) is not running"
  done
}

# Waits up to $2 s for the process $1 to end; then checks that no tier is left.
expect_all_gone() {
  local p=$1 limit=$2
  for _ in $(seq $((limit * 10))); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$p" 2>/dev/null && fail "pid $p still runs after $limit s"
  for role in device edge cloud; do
    local t=${tier_pid[$role]}
    for _ in $(seq 150); do [[ -e /proc/$t ]] || break; sleep 0.1; done
    [[ -e /proc/$t ]] && fail "the $role tier (pid $t) outlived dec serve --all-tiers: $(cat /proc/$t/stat)"
  done
  return 0
}

step "start, and one request through device, edge and cloud"
start
for node in dev0 edge0 cloud; do
  grep -q "^\[$node\] dec serve: ready" "$work/log" || fail "no '[$node] dec serve: ready' line"
done
python3 - "$url" <<'X' || fail "the request did not run on three tiers"
import json, sys, urllib.request
body = {"parameters": {"dec_report": True, "dec_split": [1, 2]},
        "inputs": [{"name": "input", "shape": [1, 1, 28, 28], "datatype": "FP32", "data": [0.0] * 784}]}
req = urllib.request.Request(sys.argv[1], json.dumps(body).encode(), {"Content-Type": "application/json"})
p = json.load(urllib.request.urlopen(req, timeout=30))["parameters"]
nodes = [e["node"] for e in p["dec_ran"]]
print("split", p["dec_split"], "ran on", nodes)
sys.exit(0 if nodes == ["dev0", "edge0", "cloud"] and p["dec_split"] == [1, 2] else 1)
X

step "SIGTERM stops every tier and exits 0"
kill -TERM "$parent"
wait "$parent"; rc=$?
[[ $rc -eq 0 ]] || fail "exit code $rc after SIGTERM, expected 0"
expect_all_gone "$parent" 20
grep -q "every tier stopped" "$work/log" || fail "no 'every tier stopped' line"

step "Ctrl-C (SIGINT to the process group) stops every tier"
start
kill -INT -- "-$parent"
wait "$parent"; rc=$?
[[ $rc -eq 0 ]] || fail "exit code $rc after SIGINT, expected 0"
expect_all_gone "$parent" 20

step "a tier that dies takes the others down"
start
kill -KILL "${tier_pid[edge]}"
wait "$parent"; rc=$?
[[ $rc -eq 137 ]] || fail "exit code $rc after the edge was killed, expected 137 (its own)"
expect_all_gone "$parent" 20
grep -q "^dec serve: edge0 (edge) ended (killed by signal 9 (Killed)); stopping the other tiers$" "$work/log" ||
  fail "no line naming the edge that ended"
grep -q "^dec: error: tier failed (edge0 (edge)): killed by signal 9" "$work/log" || fail "no one-line error"

step "SIGKILL of dec serve --all-tiers ends the tiers too"
start
kill -KILL "$parent"
wait "$parent" 2>/dev/null
expect_all_gone "$parent" 5

step "flag errors are one line"
for bad in "--all-tiers --device dev0" "--all-tiers --cluster $repo/scenarios/S1.yaml --device dev0 --tier edge" \
           "--all-tiers --cluster $repo/scenarios/S1.yaml --device cloud"; do
  "$dec" serve --model fmnist-cnn --checkpoint "$work/ckpt" $bad >"$work/out" 2>"$work/err"; rc=$?
  [[ $rc -ne 0 && $(wc -l <"$work/err") -eq 1 ]] && grep -q '^dec: error: ' "$work/err" ||
    { cat "$work/err"; fail "'dec serve $bad': exit $rc, expected one error line"; }
  echo "  $(cat "$work/err")"
done
echo "PASS"

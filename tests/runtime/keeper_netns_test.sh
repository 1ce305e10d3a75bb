#!/usr/bin/env bash
# keeper_netns_test.sh DEC_BINARY REPO — checkpoints without a shared filesystem on the namespace
# cluster (scripts/netns-cluster, docs/netns.md; docs/checkpoint.md, "Without a shared filesystem").
#
# S2's three nodes (cloud, edge0, dev0) each run one `dec worker` in their own network namespace,
# each with a checkpoint directory of its own (its "disk"); the cloud is the keeper by default.
# A job saving every iteration has its edge killed with SIGKILL while the keeper stages a save;
# then: no node but the keeper has written anything, the keeper's last complete checkpoint
# exports (every shard verified), and a job resumed from the keeper's disk alone ends with the
# losses of an uninterrupted run. Exit 77 (ctest: skipped) without root or iproute2.
set -uo pipefail

dec="${1:?usage: keeper_netns_test.sh DEC_BINARY REPO}"
repo="${2:?usage: keeper_netns_test.sh DEC_BINARY REPO}"
source "$repo/tests/scripts/netns_testing.sh"
netns_test_setup S2 keeper
nodes=(cloud edge0 dev0)  # ranks 0, 1, 2 (netns-cluster show)
declare -A tier=([cloud]=cloud [edge0]=edge [dev0]=device)
master=10.200.0.1
pids=()

stop_workers() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  pids=()
}
cleanup() {
  stop_workers
  timeout 60 "$tool" down "$spec" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
fail() { echo "FAIL: $*"; for n in "${nodes[@]}"; do tail -n 3 "$work"/*."$n".err 2>/dev/null; done; exit 1; }
step() { echo "== $*"; }

# start JOB PORT FLAGS...: one worker per node in its namespace, its own disk $work/JOB/<node>;
# the cloud's metrics in $work/JOB.jsonl. "@resume" in FLAGS becomes --resume: the keeper's
# disk of job $resume_from on the cloud, a path that exists nowhere on the others.
start() {
  local job="$1" port="$2"; shift 2
  pids=()
  for r in 0 1 2; do
    local n="${nodes[$r]}" extra=()
    [[ $r -eq 0 ]] && extra+=(--metrics "$work/$job.jsonl")
    for f in "$@"; do
      if [[ "$f" == "@resume" ]]; then
        extra+=(--resume "$([[ $r -eq 0 ]] && echo "$work/$resume_from/cloud" || echo /nonexistent)")
      else
        extra+=("$f")
      fi
    done
    MASTER_ADDR=$master MASTER_PORT=$port RANK=$r WORLD_SIZE=3 LOCAL_RANK=0 OPENBLAS_NUM_THREADS=1 \
      ip netns exec "$prefix$n" "$dec" worker --node-name "$n" --tier "${tier[$n]}" \
      --plan "$work/plan.json" --model fmnist-cnn --dataset synthetic --input 1x28x28 \
      --classes 10 --synthetic-size 512 --seed 3 --no-eval --threads 1 --optimizer sgd --lr 0.05 \
      --momentum 0.9 --join-timeout 60 --timeout 30 --checkpoint-dir "$work/$job/$n" "${extra[@]}" \
      > /dev/null 2> "$work/$job.$n.err" &
    pids+=($!)
  done
}
# Waits (at most 150 s) for every worker of the last start; their exit codes in $codes.
# (Not in a $(...): a subshell cannot wait for this shell's children.)
wait_workers() {
  local all=() deadline=$((SECONDS + 150))
  for p in "${pids[@]}"; do
    while kill -0 "$p" 2>/dev/null && (( SECONDS < deadline )); do sleep 0.1; done
    kill -9 "$p" 2>/dev/null
    wait "$p"; all+=($?)
  done
  pids=()
  codes="${all[*]}"
}
losses() {
  python3 -c 'import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e.get("event") == "iteration": print(e["step"], repr(e["loss"]))' "$1"
}
partial_on_keeper() { compgen -G "$work/$1/cloud/step-*.partial" >/dev/null; }

step "up"
timeout 60 "$tool" up "$spec" >/dev/null || fail "netns-cluster up"
timeout 60 "$dec" plan --cluster "$spec" --model fmnist-cnn --out "$work/plan.json" >/dev/null || fail "dec plan"

step "a job saving every iteration; SIGKILL to the edge while the keeper stages a save"
start killed 29521 --steps 200 --checkpoint-every 1
edge="${pids[1]}"
deadline=$((SECONDS + 120))
until [[ -e "$work/killed/cloud/latest" ]] && partial_on_keeper killed; do
  (( SECONDS < deadline )) || fail "the keeper never staged a second checkpoint"
  kill -0 "${pids[0]}" 2>/dev/null || fail "the keeper ended before a second save"
  sleep 0.005
done
kill -9 "$edge"
wait_workers
echo "exit codes (cloud edge0 dev0): $codes"
[[ "$codes" != "0 "* ]] || fail "the keeper finished a job whose edge was killed"
for n in edge0 dev0; do
  [[ ! -e "$work/killed/$n" ]] || fail "$n wrote to its own disk: $(ls -R "$work/killed/$n" | head)"
done

step "the keeper's last complete checkpoint exports"
latest=$(tr -d '\n' < "$work/killed/cloud/latest")
partial_on_keeper killed && echo "the save the kill interrupted was never committed (latest: $latest)"
"$dec" export --checkpoint "$work/killed/cloud" --out "$work/model.pt" > /dev/null ||
  fail "dec export of the keeper's checkpoint"
s=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["step"])' \
      "$work/killed/cloud/$latest/manifest.json") || fail "no step in $latest's manifest"
echo "last complete checkpoint: step $s"

step "resume from the keeper's disk alone, and an uninterrupted run as long"
resume_from=killed
start resumed 29522 --steps $((s + 2)) @resume
wait_workers
[[ "$codes" == "0 0 0" ]] || fail "resumed job exit codes $codes"
start straight 29523 --steps $((s + 2))
wait_workers
[[ "$codes" == "0 0 0" ]] || fail "uninterrupted job exit codes $codes"
got=$(losses "$work/resumed.jsonl")
want=$(losses "$work/straight.jsonl" | tail -n 2)
echo "resumed:       $(echo $got)"
echo "uninterrupted: $(echo $want)"
[[ -n "$got" && "$got" == "$want" ]] || fail "the resumed losses differ from the uninterrupted run's"

echo "PASS"

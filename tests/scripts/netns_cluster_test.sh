#!/usr/bin/env bash
# netns_cluster_test.sh DEC_BINARY REPO — end-to-end test of scripts/netns-cluster (docs/netns.md).
#
# Builds the S2 topology (cloud - edge0 - dev0) as network namespaces under a name of its own
# (so that it never touches a cluster someone else has up), then checks: the namespaces and one
# tbf qdisc per veth exist; every node reaches every other (dev0 -> cloud crosses edge0); a TCP
# transfer over two hops gets the 5.85 Mbit/s of the dev0-edge0 link within 10%; a 3-step DEC job
# runs across the namespaces and its activations cross the shaped veth; `down` leaves nothing;
# `run` on a cluster that is not up brings it up, returns the first failing exit code and tears
# it down again. Exit 77 (ctest: skipped) without root or iproute2. Every step is bounded.
set -uo pipefail

dec="${1:?usage: netns_cluster_test.sh DEC_BINARY REPO}"
repo="${2:?usage: netns_cluster_test.sh DEC_BINARY REPO}"
source "$repo/tests/scripts/netns_testing.sh"
netns_test_setup S2 ctest
nodes=(cloud edge0 dev0)

cleanup() {
  timeout 60 "$tool" down "$spec" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() { echo "FAIL: $*"; exit 1; }
# Whether stdin has a line matching the pattern. Not `cmd | grep -q`: under
# pipefail, grep's early exit can kill the writer with SIGPIPE and fail a
# pipeline that matched (it did, once, with the machine loaded).
has() { grep "$@" >/dev/null; }
step() { echo "== $*"; }
# The root namespace's veths and the dec- namespaces before the test: neither may grow.
root_veths() { ip -o link show type veth 2>/dev/null | awk -F': ' '{print $2}' | sort; }
dec_namespaces() { ip netns list | awk '{print $1}' | grep '^dec-' | sort; }
veths_before="$(root_veths)"
namespaces_before="$(dec_namespaces)"

step "up"
timeout 60 "$tool" up "$spec" || fail "netns-cluster up"
declare -A degree=([cloud]=1 [edge0]=2 [dev0]=1)
for n in "${nodes[@]}"; do
  ns="$prefix$n"
  ip netns list | awk '{print $1}' | has -x "$ns" || fail "namespace $ns missing"
  tbfs=$(tc -n "$ns" qdisc show | grep -c '^qdisc tbf')
  [[ $tbfs -eq ${degree[$n]} ]] || fail "$ns has $tbfs tbf qdiscs, expected ${degree[$n]}"
  # Under each tbf, the queue that lets pure ACKs pass the data (netns-cluster shape()).
  for dev in $(tc -n "$ns" qdisc show | awk '/^qdisc tbf/ {print $5}'); do
    tc -n "$ns" filter show dev "$dev" parent 10: | has 'flowid 10:10' ||
      fail "$ns $dev: no ACK filter under its tbf"
  done
done
tc -n "${prefix}dev0" qdisc show | has 'rate 6116Kbit' ||
  fail "dev0's tbf is not at 5.85 Mbit/s of payload (6116 Kbit/s on the wire)"

step "reachability"
timeout 60 "$tool" check "$spec" || fail "not every node reaches every other"
timeout 10 ip netns exec "${prefix}dev0" python3 -c '
import socket
s = socket.socket(); s.settimeout(2)
try:
    s.connect(("10.200.0.1", 9))
except ConnectionRefusedError:
    pass
' || fail "dev0 cannot reach cloud (10.200.0.1) through edge0"

step "shaping: dev0 -> cloud (two hops, 5.85 Mbit/s bottleneck) and edge0 -> dev0, within 10%"
timeout 60 "$tool" measure "$spec" --from dev0 --to cloud --seconds 3 --tolerance 10 ||
  fail "dev0 -> cloud is not shaped to 5.85 Mbit/s within 10%"
timeout 60 "$tool" measure "$spec" --from edge0 --to dev0 --seconds 3 --tolerance 10 ||
  fail "edge0 -> dev0 is not shaped to 5.85 Mbit/s within 10%"

step "a 3-step DEC job across the namespaces"
timeout 60 "$dec" plan --cluster "$spec" --model fmnist-cnn --out "$work/plan.json" >/dev/null ||
  fail "dec plan"
# Bytes sent by dev0's one tbf qdisc (the first " Sent" line after its "qdisc tbf" line).
tbf_sent() { tc -s -n "${prefix}dev0" qdisc show | awk '/^qdisc tbf/ {t = 1} t && /^ Sent/ {print $2; exit}'; }
sent_before=$(tbf_sent)
DEC="$dec" timeout 150 "$tool" run "$spec" --master-port 29511 -- \
  --plan "$work/plan.json" --model fmnist-cnn --dataset synthetic --input 1x28x28 --classes 10 \
  --synthetic-size 512 --steps 3 --no-eval --threads 1 --join-timeout 60 --timeout 60 \
  > "$work/run.log" 2>&1
rc=$?
tail -n 5 "$work/run.log"
[[ $rc -eq 0 ]] || fail "the DEC job exited with $rc"
grep -q '^\[cloud\] trained 3 iterations' "$work/run.log" || fail "rank 0 did not report 3 iterations"
sent_after=$(tbf_sent)
# dev0 holds the data: 3 iterations x 64 samples x 28x28 floats (~600 KB) leave through its tbf.
(( sent_after - sent_before > 500000 )) ||
  fail "only $((sent_after - sent_before)) bytes left dev0 through its tbf during the job"
echo "dev0's tbf passed $((sent_after - sent_before)) bytes during the job"

step "down"
timeout 60 "$tool" down "$spec" || fail "netns-cluster down"
timeout 60 "$tool" down "$spec" || fail "a second netns-cluster down"
left="$(ip netns list | awk '{print $1}' | grep "^$prefix")" && fail "namespaces left: $left"
[[ "$(dec_namespaces)" == "$namespaces_before" ]] || fail "dec- namespaces changed: $(dec_namespaces)"
[[ "$(root_veths)" == "$veths_before" ]] || fail "veths left in the root namespace: $(root_veths)"

step "run on a cluster that is down: brings it up, fails with dec's exit code, tears it down"
DEC="$dec" timeout 60 "$tool" run "$spec" --grace 5 -- --no-such-flag > "$work/bad.log" 2>&1
rc=$?
[[ $rc -eq 2 ]] || { cat "$work/bad.log"; fail "expected exit code 2 from a bad flag, got $rc"; }
grep -q "torn down" "$work/bad.log" || fail "run did not tear down what it brought up"
[[ "$(dec_namespaces)" == "$namespaces_before" ]] || fail "run left namespaces: $(dec_namespaces)"
[[ "$(root_veths)" == "$veths_before" ]] || fail "run left veths: $(root_veths)"

echo "PASS"

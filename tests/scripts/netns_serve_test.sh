#!/usr/bin/env bash
# netns_serve_test.sh DEC_BINARY REPO -- `scripts/netns-cluster serve` and `shape` (docs/netns.md):
# S1's device, edge and cloud as network namespaces, one `dec serve --emulate` per tier (compute at the
# tier's speed, the links' latency in-process, their rate real, by tbf); a client in dev0's namespace
# sends W1 (fmnist-cnn, 1x28x28) requests back to back while the test slows the dev0-edge0 link to
# 100 kbit/s with `shape`, then restores it. Checks: no request fails; the device's split leaves the
# split it chose on the fast link within 10 requests of the change, and comes back within 30 s of the
# restore (only probes see the idle link then).
# Prints the seconds the split took to follow each way (docs/measurements.md records them; timings
# are not asserted). Exit 77 (ctest: skipped) without root, iproute2 or python3-yaml. Every step is
# bounded; the namespaces it made are removed even on failure.
set -uo pipefail

dec="${1:?usage: netns_serve_test.sh DEC_BINARY REPO}"
repo="${2:?usage: netns_serve_test.sh DEC_BINARY REPO}"
source "$repo/tests/scripts/netns_testing.sh"
netns_test_setup S1 stest
server=""
cleanup() {
  [[ -n "$server" ]] && kill -TERM "$server" 2>/dev/null && sleep 1 && kill -KILL -- "-$server" 2>/dev/null
  timeout 60 "$tool" down "$spec" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
fail() { echo "FAIL: $*"; [[ -f "$work/serve.log" ]] && tail -40 "$work/serve.log" | sed 's/^/  | /'; exit 1; }
step() { echo "== $*"; }

step "a checkpoint and a profile of W1"
"$dec" train --model fmnist-cnn --dataset synthetic --input 1x28x28 --synthetic-size 128 --steps 2 \
  --checkpoint-dir "$work/ckpt" --no-eval --threads 1 >"$work/train.log" 2>&1 || { cat "$work/train.log"; fail "dec train"; }
"$dec" profile --model fmnist-cnn --threads 1 --out "$work/w1.json" >"$work/profile.log" 2>&1 ||
  { cat "$work/profile.log"; fail "dec profile"; }

step "netns-cluster serve $name (dev0 -> edge0 -> cloud, --emulate)"
DEC="$dec" setsid "$tool" serve "$spec" --port 8000 -- --model fmnist-cnn --checkpoint "$work/ckpt" \
  --profile "$work/w1.json" --emulate --threads 1 --warmup 1 >"$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 1800); do
  grep -q "netns-cluster: serving" "$work/serve.log" && break
  kill -0 "$server" 2>/dev/null || fail "netns-cluster serve ended before serving"
  sleep 0.1
done
grep -q "netns-cluster: serving" "$work/serve.log" || fail "not serving after 180 s"
for node in cloud edge0 dev0; do
  grep -q "^\[$node\] dec serve: ready" "$work/serve.log" || fail "no '[$node] dec serve: ready'"
done

step "requests back to back; dev0-edge0 slowed to 100kbit/s, then restored"
python3 - "$tool" "$spec" "dec-$name-dev0" <<'X' || fail "the split did not follow the link"
import json, subprocess, sys, time
tool, spec, ns = sys.argv[1:4]
CLIENT = r'''
import json, sys, time, urllib.error, urllib.request
body = json.dumps({"parameters": {"dec_report": True}, "inputs": [
    {"name": "input", "shape": [1, 1, 28, 28], "datatype": "FP32", "data": [0.0] * 784}]}).encode()
while True:
    t0 = time.monotonic()
    try:
        r = urllib.request.urlopen(urllib.request.Request(
            "http://127.0.0.1:8000/v2/models/fmnist-cnn/infer", body,
            {"Content-Type": "application/json"}), timeout=30)
        status, split = r.status, json.load(r)["parameters"]["dec_split"]
    except urllib.error.HTTPError as e:
        status, split = e.code, None
    except Exception as e:
        status, split = repr(e), None
    print(json.dumps({"t0": t0, "t1": time.monotonic(), "status": status, "split": split}), flush=True)
'''
client = subprocess.Popen(["timeout", "120", "ip", "netns", "exec", ns, sys.executable, "-c", CLIENT],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
records, marks = [], {}
# The slowdown through netns-cluster's own reshape() (imported: the interval it takes is then only
# its tc commands, which bound the moment the link changed); the restore through `shape`.
import importlib.machinery, importlib.util
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
loader = importlib.machinery.SourceFileLoader("netns_cluster", tool)
nc = importlib.util.module_from_spec(importlib.util.spec_from_loader("netns_cluster", loader))
loader.exec_module(nc)
scenario = nc.Scenario(spec)
def shape(*rate):
    t = time.monotonic()
    if rate:
        nc.reshape(scenario, "dev0-edge0", rate[0])
    else:
        subprocess.run([tool, "shape", spec, "--link", "dev0-edge0"], check=True, timeout=30)
    return t, time.monotonic()
def split_at(t):  # the split of the last request sent before t
    s = [r["split"] for r in records if r["t0"] < t]
    return s[-1] if s else None
start = time.monotonic()
phase = "fast"
for line in client.stdout:
    r = json.loads(line)
    records.append(r)
    if r["status"] != 200:
        print(f"FAIL: a request failed: {r}"); client.kill(); sys.exit(1)
    now = time.monotonic()
    if phase == "fast" and now - start > 4:
        before = split_at(now)
        marks["slow"] = shape("100kbit/s")
        phase = "slow"
    elif phase == "slow" and now - marks["slow"][1] > 4:
        marks["restore"] = shape()
        phase = "restored"
    elif phase == "restored" and (r["split"] == before and r["t0"] > marks["restore"][1]
                                  or now - marks["restore"][1] > 30):
        break
client.kill()
client.wait()
def follow(mark, want_change):
    t_begin, t_end = mark
    after = [r for r in records if r["t0"] >= t_begin]
    for i, r in enumerate(after):
        if (r["split"] != before) == want_change:
            return i + 1, r["t0"] - t_begin, r["t0"] - t_end, r["split"]
    return None
print(f"{len(records)} requests, none failed; split on the fast link {before}")
slow, back = follow(marks["slow"], True), follow(marks["restore"], False)
ok = True
for what, f, mark in (("slowed", slow, marks["slow"]), ("restored", back, marks["restore"])):
    if f is None:
        print(f"FAIL: the split did not follow the {what} link"); ok = False; continue
    n, from_start, from_end, split = f
    print(f"link {what}: split {split} from the {n}th request sent after `shape` started, "
          f"{from_start:.3f} s after it started ({from_end:.3f} s after it returned; "
          f"`shape` took {mark[1] - mark[0]:.3f} s)")
    if what == "slowed" and n > 10:
        print(f"FAIL: the split took {n} requests (more than 10) to follow"); ok = False
if before is None or before[0] >= 4:
    print(f"FAIL: on the fast link the device did not offload: {before}"); ok = False
sys.exit(0 if ok else 1)
X

step "stop: SIGTERM ends every tier and tears the cluster down"
kill -TERM "$server"
for _ in $(seq 300); do kill -0 "$server" 2>/dev/null || break; sleep 0.1; done
kill -0 "$server" 2>/dev/null && fail "netns-cluster serve still runs 30 s after SIGTERM"
wait "$server"; rc=$?
server=""
[[ $rc -eq 143 ]] || fail "exit code $rc after SIGTERM, expected 143"
grep -q "torn down" "$work/serve.log" || fail "serve did not tear down the cluster it brought up"
ip netns list | awk '{print $1}' | grep -q "^dec-$name-" && fail "namespaces of $name are left"
echo "PASS"

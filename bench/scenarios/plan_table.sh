#!/usr/bin/env bash
# Predicted iteration times of DEC's plan and every baseline for each scenario of
# docs/scenarios.md and workloads W1-W3 (docs/workloads.md), from profiles measured on this machine
# (one thread: speed 1 = one core; node speeds come from the scenario files).
#
#   bench/scenarios/plan_table.sh [OUT_DIR]     (default out/plan_table)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dec="${DEC:-$root/build/dec}"
out="${1:-$root/out/plan_table}"
mkdir -p "$out"
export OPENBLAS_NUM_THREADS=1

# workload: model, input, global batch, profiler micro-batch (B / 4 micro-batches),
# from the one table of the workloads (scenarios/workloads.yaml).
declare -A model input batch micro
workloads=()
defs="$(/usr/bin/python3 - "$root/scenarios/workloads.yaml" <<'PY'
import shlex, sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
if doc.get("format_version") != 1:
    sys.exit(f"{sys.argv[1]}: format_version {doc.get('format_version')}, this script reads 1")
for w in doc["workloads"]:
    i = w["id"]
    print(f"workloads+=({i}) model[{i}]={shlex.quote(w['model'])} input[{i}]={shlex.quote(w['input'])}"
          f" batch[{i}]={int(w['batch'])} micro[{i}]={int(w['micro_batch'])}")
PY
)"
eval "$defs"

# A profile per workload and emulated speed: `dec profile --speed v` times the
# blocks at full speed and divides the times by v, which is what an emulated
# node of speed v takes; nothing is added per task.
profile() {  # workload speed -> path
  local w=$1 v=$2 f
  if [[ $v == 1 ]]; then f="$out/$w.profile.json"; else f="$out/$w.speed-$v.profile.json"; fi
  [[ -f $f ]] ||
    "$dec" profile --model "${model[$w]}" --input "${input[$w]}" --micro-batch "${micro[$w]}" \
      --optimizer adam --threads 1 --speed "$v" --out "$f" >/dev/null
  echo "$f"
}

for s in S1 S2 S2-fast S3 S3-cat1 S4a S4b; do
  for w in "${workloads[@]}"; do
    sed -E "s/^(  batch: )[0-9]+/\1${batch[$w]}/" "$root/scenarios/$s.yaml" >"$out/$s.$w.yaml"
    # Each node slower than 1 names the profile made at its speed, which the planner
    # then uses instead of the speed-1 profile scaled by the speed: the same times
    # up to the noise between the two profiling runs (docs/cluster.md, nodes[].profile).
    for v in $(grep -oE 'speed: *[0-9.]+' "$root/scenarios/$s.yaml" | grep -oE '[0-9.]+$' | sort -u); do
      [[ $v == 1 ]] && continue
      sed -i -E "s#(speed: *${v//./\\.})([,}])#\1, profile: $(profile "$w" "$v")\2#" "$out/$s.$w.yaml"
    done
    "$dec" plan --cluster "$out/$s.$w.yaml" --profile "$(profile "$w" 1)" \
      --out "$out/$s.$w.plan.json" --svg "$out/$s.$w.svg" >"$out/$s.$w.txt"
  done
done

/usr/bin/python3 - "$out" <<'PY'
import json, sys, glob, os
out = sys.argv[1]
names = ["device-only", "edge-only", "cloud-only", "data-parallel", "neurosurgeon", "pipedream"]
print(f"{'cell':<14} {'DEC s':>8} " + " ".join(f"{n:>13}" for n in names) + "  mixed  plan")
for f in sorted(glob.glob(os.path.join(out, "*.plan.json"))):
    p = json.load(open(f))
    cell = os.path.basename(f)[:-len(".plan.json")].replace(".", "/")
    dec = p["prediction"]["iteration_s"]
    base = {b["kind"]: b for b in p["baselines"]}
    cols = []
    for n in names:
        b = base.get(n)
        if b is None or not b.get("feasible", True):
            cols.append(f"{'-':>13}")
        else:
            t = b["prediction"]["iteration_s"]
            cols.append(f"{t:7.3f} {t / dec:4.1f}x")
    tiers = set()
    for path in p["paths"]:
        for node, r in zip(path["nodes"], path["ranges"]):
            if r[1] > r[0]:
                tiers.add(node)
    desc = "; ".join(
        f"{path['samples']}: " + " ".join(f"{n}[{r[0]},{r[1]})" for n, r in zip(path["nodes"], path["ranges"]) if r[1] > r[0])
        for path in p["paths"])
    print(f"{cell:<14} {dec:8.3f} " + " ".join(cols) + f"  {'yes' if len(tiers) > 1 else 'no ':>5}  {desc}")
PY

#!/usr/bin/env bash
# container_smoke_test ROOT: the DEC image as a user gets it (docs/packaging.md).
#   1. `scripts/dev image` builds localhost/dec and localhost/dec-services (from the cached base);
#   2. the image runs `dec version` as the user dec (10001), with the entrypoint `dec` and a
#      healthcheck;
#   3. `dec serve` in a container answers /v2/health/ready and a model's metadata on a published
#      port, and `podman healthcheck run` says healthy;
#   4. `dec control` in a container answers /api/v1/health and serves the dashboard at /;
#   5. shape-links puts the tbf on a container's interface with NET_ADMIN and runs its command as
#      dec with no capabilities;
#   6. DEC_CONTAINER_COMPOSE=1 also: packaging/compose.yaml up (S2), a request through the device
#      is split across the three node containers, the control plane is healthy, then down.
# Skipped (exit 77) unless DEC_CONTAINER_TESTS=1: with the image build it takes longer than a CI
# run may (docs/measurements.md, "Container images"). DEC_CONTAINER_BUILD=0 checks the images
# already built instead of building them.
set -euo pipefail
root="$1"
skip() { echo "container_smoke_test: skipped: $*"; exit 77; }
[[ "${DEC_CONTAINER_TESTS:-}" == 1 ]] ||
  skip "set DEC_CONTAINER_TESTS=1 to build the images and run them (tens of minutes uncached)"
[[ $(id -u) -eq 0 ]] || skip "not root (podman here runs as root: packaging/containers.conf)"

export CONTAINERS_CONF="$root/packaging/containers.conf"
image=localhost/dec:latest
tag="dec-smoke-$$"
fail() { echo "container_smoke_test: FAIL: $*" >&2; exit 1; }
cleanup() {
  podman rm -f "$tag-serve" "$tag-control" >/dev/null 2>&1 || true
  if [[ "${DEC_CONTAINER_COMPOSE:-}" == 1 ]]; then
    (cd "$root" && podman-compose -p "$tag" -f packaging/compose.yaml down -v >/dev/null 2>&1) || true
    # podman-compose 1.0.3 leaves the networks
    podman network rm "${tag}_control" "${tag}_device-edge" "${tag}_edge-cloud" >/dev/null 2>&1 || true
  fi
  rm -f "/tmp/$tag-up.log"
}
trap cleanup EXIT
wait_http() {  # url seconds
  local i
  for ((i = 0; i < $2; i++)); do
    curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null && return 0
    sleep 1
  done
  return 1
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start=$SECONDS
if [[ "${DEC_CONTAINER_BUILD:-1}" == 1 ]]; then
  "$root/scripts/dev" image
  echo "container_smoke_test: images built in $((SECONDS - start)) s"
else  # DEC_CONTAINER_BUILD=0: the images `scripts/dev image` built before
  podman image exists "$image" && podman image exists localhost/dec-services:latest ||
    fail "DEC_CONTAINER_BUILD=0 but the images are not built (scripts/dev image)"
fi

# 2. The image's user, entrypoint and healthcheck.
out=$(podman run --rm "$image" version)
[[ "$out" == "dec "* ]] || fail "dec version said: $out"
uid=$(podman run --rm --entrypoint id "$image" -u)
[[ "$uid" == 10001 ]] || fail "the image runs as uid $uid, not 10001"
[[ $(podman image inspect -f '{{.Config.User}}' "$image") == dec ]] || fail "image user is not dec"
[[ $(podman image inspect -f '{{json .Config.Entrypoint}}' "$image") == '["dec"]' ]] ||
  fail "entrypoint is not dec"
podman image inspect -f '{{json .Config.Healthcheck}}' "$image" | grep -q healthcheck ||
  fail "the image has no healthcheck"

# 3. dec serve, published, healthy.
port=$(free_port)
podman run -d --name "$tag-serve" -p "127.0.0.1:$port:8000" --entrypoint sh "$image" -c '
  dec train --model fmnist-cnn --dataset synthetic --input 1x28x28 --synthetic-size 256 --steps 5 \
      --checkpoint-dir /tmp/ckpt --no-eval --threads 1 >/dev/null &&
  exec dec serve --model fmnist-cnn --checkpoint /tmp/ckpt --listen 0.0.0.0:8000 --threads 1' \
  >/dev/null
wait_http "http://127.0.0.1:$port/v2/health/ready" 120 ||
  { podman logs "$tag-serve" | tail -20; fail "dec serve is not ready after 120 s"; }
curl -fsS "http://127.0.0.1:$port/v2/models/fmnist-cnn" | grep -q '"name"' ||
  fail "no model metadata"
podman healthcheck run "$tag-serve" || fail "the healthcheck does not pass"
[[ $(podman exec "$tag-serve" id -u) == 10001 ]] || fail "dec serve runs as root"
podman top "$tag-serve" user comm | awk 'NR > 1 && $2 == "dec" && $1 != "dec" { bad = 1 } END { exit bad }' ||
  fail "dec serve's process is not the user dec"

# 4. dec control with its dashboard.
port=$(free_port)
podman run -d --name "$tag-control" -p "127.0.0.1:$port:8080" "$image" \
  control --listen 0.0.0.0:8080 --data-dir /var/lib/dec/control >/dev/null
wait_http "http://127.0.0.1:$port/api/v1/health" 60 ||
  { podman logs "$tag-control" | tail -20; fail "dec control does not answer /api/v1/health"; }
curl -fsS "http://127.0.0.1:$port/" | grep -qi "<html" || fail "no dashboard at /"
podman healthcheck run "$tag-control" || fail "the control plane's healthcheck does not pass"

# 5. tc tbf with NET_ADMIN, then the user dec without capabilities.
out=$(podman run --rm --user root --cap-add NET_ADMIN --entrypoint shape-links "$image" \
  127.0.0.1=5.85 -- sh -c 'tc qdisc show dev lo; id -u; grep CapEff /proc/self/status')
echo "$out" | grep -q "qdisc tbf 1: root" || fail "no tbf on lo: $out"
echo "$out" | grep -qx 10001 || fail "shape-links' command does not run as dec: $out"
echo "$out" | grep -q "CapEff:.*0000000000000000" || fail "capabilities left: $out"

echo "container_smoke_test: image checks passed ($((SECONDS - start)) s in all)"

# 6. The compose file.
[[ "${DEC_CONTAINER_COMPOSE:-}" == 1 ]] || exit 0
cd "$root"
dport=$(free_port) cport=$(free_port)
DEC_SCENARIO=S2 DEC_DEVICE_PORT=$dport DEC_CONTROL_PORT=$cport \
  podman-compose -p "$tag" -f packaging/compose.yaml up -d >"/tmp/$tag-up.log" 2>&1 ||
  { cat "/tmp/$tag-up.log"; fail "podman-compose up"; }
wait_http "http://127.0.0.1:$dport/v2/health/ready" 300 ||
  { podman-compose -p "$tag" -f packaging/compose.yaml logs 2>&1 | tail -40; fail "device not ready"; }
body=$(python3 -c 'import json; print(json.dumps({"inputs": [{"name": "input", "shape": [1, 1, 28, 28],
  "datatype": "FP32", "data": [0.5] * 784}], "parameters": {"dec_split": [1, 2], "dec_report": True}}))')
answer=$(curl -fsS "http://127.0.0.1:$dport/v2/models/fmnist-cnn/infer" \
  -H 'Content-Type: application/json' -d "$body")
for node in dev0 edge0 cloud; do
  echo "$answer" | grep -q "\"node\":\"$node\"" || fail "no part of the request ran on $node: $answer"
done
wait_http "http://127.0.0.1:$cport/api/v1/health" 180 ||
  { podman-compose -p "$tag" -f packaging/compose.yaml logs control 2>&1 | tail -20; fail "control"; }
podman exec "${tag}_edge_1" tc qdisc show | grep -c "qdisc tbf" | grep -qx 2 ||
  fail "the edge does not shape both of its links"
echo "container_smoke_test: compose checks passed ($((SECONDS - start)) s in all)"

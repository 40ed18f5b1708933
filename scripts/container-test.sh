#!/usr/bin/env bash
# Builds the container image from the Dockerfile and runs it for real, with podman, as root:
#   1. installs Debian's podman and what it needs (runc, debootstrap, ...);
#   2. makes the base image locally, since no container registry is reachable: a minbase bookworm
#      root filesystem from the Debian mirror this machine's apt already uses, slimmed like the
#      official debian:bookworm-slim and tagged docker.io/library/debian:bookworm-slim;
#   3. podman build, then runs the image (host network, a free loopback port, a named volume) and
#      checks /healthz, /readyz, an organization and a battery created and read back through the
#      API, the HEALTHCHECK, that the server runs as non-root, that `podman stop` (SIGTERM) exits 0
#      within 10 s, and that the data survives a new container on the same volume.
# Everything podman stores (images, containers, volumes, its config) lives in a temporary
# directory removed on exit; the machine's own podman state is never touched. The base root
# filesystem is cached in $CELLFLEET_CONTAINER_CACHE (default /tmp/cellfleet-container-cache)
# between runs on the same machine. Exits non-zero, with a message, on the first failed check.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

t0=$(date +%s)
phase_start=$t0
timings=()
phase() {  # name of the phase that just ended
  local now
  now=$(date +%s)
  timings+=("$(printf '%-34s %4ds' "$1" $((now - phase_start)))")
  echo "container-test: $1 done in $((now - phase_start)) s"
  phase_start=$now
}
fail() {
  echo "container-test: FAILED: $*" >&2
  exit 1
}
[[ $(id -u) -eq 0 ]] || fail "run as root (debootstrap and a private podman storage root need it)"

# --- 1. packages -------------------------------------------------------------------------------
packages=(podman runc debootstrap uidmap slirp4netns fuse-overlayfs catatonit netavark aardvark-dns
  iptables curl python3 debian-archive-keyring)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "container-test: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
phase "packages"

# --- podman, confined to a temporary directory ------------------------------------------------
work="$(mktemp -d "${TMPDIR:-/tmp}/cellfleet-container.XXXXXX")"
cache="${CELLFLEET_CONTAINER_CACHE:-${TMPDIR:-/tmp}/cellfleet-container-cache}"
mkdir -p "$cache" "$work/tmp" "$work/networks"
image="localhost/cellfleet:container-test"
base="docker.io/library/debian:bookworm-slim"
volume="cellfleet-ct-data"
container="cellfleet-ct"

# The default crun fails on this machine's hybrid cgroups, and the default nofile limit is above
# the hard limit a process may set here: runc, cgroupfs, a file events log, limits that fit.
nofile=$(ulimit -Hn)
[[ "$nofile" == unlimited ]] && nofile=1048576
cat >"$work/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=32768:32768"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$work/events.log"
tmp_dir = "$work/libpod"
[network]
network_config_dir = "$work/networks"
EOF
cat >"$work/storage.conf" <<EOF
[storage]
driver = "${CELLFLEET_PODMAN_DRIVER:-overlay}"
graphroot = "$work/storage"
runroot = "$work/run"
EOF
export CONTAINERS_CONF="$work/containers.conf" CONTAINERS_STORAGE_CONF="$work/storage.conf"
export TMPDIR="$work/tmp"  # podman build stages its context here

cleanup() {
  local status=$?
  set +e
  if [[ $status -ne 0 ]] && podman container exists "$container" 2>/dev/null; then
    echo "container-test: last log lines of the container:" >&2
    podman logs --tail 30 "$container" >&2 2>&1
  fi
  podman rm --all --force --time 0 >/dev/null 2>&1
  podman volume rm --all --force >/dev/null 2>&1
  podman rmi --all --force >/dev/null 2>&1
  # Layers podman left mounted (it should leave none), deepest first, then the directory.
  findmnt -rn -o TARGET | grep "^$work/" | sort -r | xargs -r -n1 umount -l 2>/dev/null
  rm -rf "$work"
  exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM
podman info --format '{{.Host.OCIRuntime.Name}} {{.Store.GraphDriverName}}' >/dev/null ||
  fail "podman does not work with $CONTAINERS_CONF"

# --- 2. the base image ------------------------------------------------------------------------
# The mirror and suites of this machine's Debian 12 sources (one-line and deb822 formats), so the
# root filesystem comes from wherever the machine's apt already goes.
read_sources() {
  python3 - "$@" <<'PY'
import glob, re, sys
stanzas = []  # (uri, suites, components, signed_by)
for path in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*")):
    try:
        text = open(path).read()
    except OSError:
        continue
    if path.endswith(".sources"):
        for block in re.split(r"\n\s*\n", text):
            fields = {}
            for line in block.splitlines():
                if line.startswith("#") or ":" not in line:
                    continue
                k, v = line.split(":", 1)
                fields[k.strip().lower()] = v.strip()
            if "deb" not in fields.get("types", "").split():
                continue
            for uri in fields.get("uris", "").split():
                stanzas.append((uri, fields.get("suites", "").split(), fields.get("components", "main").split()))
    elif path.endswith(".list"):
        for line in text.splitlines():
            m = re.match(r"^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s+(.*)$", line.strip())
            if m:
                stanzas.append((m.group(1), [m.group(2)], m.group(3).split()))
debian = [(u, s, c) for (u, s, c) in stanzas if any(x.split("-")[0] == "bookworm" for x in s)]
if not debian:
    sys.exit("no Debian bookworm source in /etc/apt/sources.list*")
if sys.argv[1] == "mirror":
    print(next(u for (u, s, c) in debian if "bookworm" in s))
else:  # the sources the image's apt uses: the same Debian stanzas, main only
    for (u, s, c) in debian:
        suites = " ".join(x for x in s if x.split("-")[0] == "bookworm")
        print(f"Types: deb\nURIs: {u}\nSuites: {suites}\nComponents: main\n"
              "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n")
PY
}
mirror="$(read_sources mirror)"
rootfs_tar="$cache/bookworm-minbase-slim.tar"
if [[ ! -s "$rootfs_tar" ]]; then
  echo "container-test: debootstrap bookworm (minbase) from $mirror"
  rootfs="$work/rootfs"
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || {
    tail -n 20 "$work/debootstrap.log" >&2
    fail "debootstrap from $mirror"
  }
  # What makes debian:bookworm-slim slim: packages installed later leave out documentation,
  # manuals and translations, and apt keeps no package cache.
  cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
  cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
Acquire::Languages "none";
EOF
  echo 'APT::Install-Recommends "false";' >"$rootfs/etc/apt/apt.conf.d/docker-no-recommends"
  rm -f "$rootfs/etc/apt/sources.list"
  read_sources sources >"$rootfs/etc/apt/sources.list.d/debian.sources"
  find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  rm -rf "$rootfs"/usr/share/{man,info,groff,lintian,linda}/* "$rootfs"/var/lib/apt/lists/* \
    "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/log/*.log \
    "$rootfs"/var/cache/debconf/*-old "$rootfs"/var/lib/dpkg/*-old "$rootfs"/debootstrap
  find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
  : >"$rootfs/etc/resolv.conf"
  echo cellfleet >"$rootfs/etc/hostname"
  tar -C "$rootfs" --numeric-owner -cf "$rootfs_tar.partial" .
  mv "$rootfs_tar.partial" "$rootfs_tar"
  rm -rf "$rootfs"
fi
podman import --quiet "$rootfs_tar" "$base" >/dev/null || fail "podman import of the base image"
phase "base image (debootstrap + import)"

# --- 3. build ---------------------------------------------------------------------------------
# Docker format: the OCI image format has no HEALTHCHECK. Host network: apt inside the build
# reaches the mirror as this machine does. --pull=never: the base image is the one made above.
podman build --format docker --pull=never --network host --ulimit "nofile=$nofile:$nofile" \
  -t "$image" -f Dockerfile . >"$work/build.log" 2>&1 || {
  tail -n 40 "$work/build.log" >&2
  fail "podman build (the last 40 lines of its output are above)"
}
phase "podman build"
size_bytes=$(podman image inspect --format '{{.Size}}' "$image")
size_mb=$((size_bytes / 1000 / 1000))
echo "container-test: image $image is $size_mb MB"
((size_mb < 150)) || fail "the runtime image is $size_mb MB; it must stay under 150 MB"

# The image's metadata is what the Dockerfile promises.
inspect() { podman image inspect --format "$1" "$image"; }
[[ "$(inspect '{{.Config.User}}')" == "cellfleet:cellfleet" ]] || fail "image user: $(inspect '{{.Config.User}}')"
[[ "$(inspect '{{json .Config.Entrypoint}}')" == '["cellfleet"]' ]] || fail "entrypoint: $(inspect '{{json .Config.Entrypoint}}')"
[[ "$(inspect '{{json .Config.Cmd}}')" == '["serve","--listen","0.0.0.0:8080"]' ]] || fail "cmd: $(inspect '{{json .Config.Cmd}}')"
[[ "$(inspect '{{.Config.StopSignal}}')" == "SIGTERM" ]] || fail "stop signal: $(inspect '{{.Config.StopSignal}}')"
inspect '{{json .Config.ExposedPorts}}' | grep -q '"8080/tcp"' || fail "port 8080 is not exposed"
inspect '{{json .Config.Volumes}}' | grep -q '/var/lib/cellfleet/data' || fail "the data dir is not a volume"
inspect '{{json .Config.Healthcheck}}' | grep -q 'healthcheck' || fail "no HEALTHCHECK in the image"

# --- 4. run -----------------------------------------------------------------------------------
# Podman schedules HEALTHCHECKs with systemd timers and says so, as errors, on every run, stop and
# rm where there is no systemd (CI machines): that noise is dropped, and the HEALTHCHECK is run by
# hand below (podman healthcheck run). Every other message goes through.
without_timer_noise() { grep -v 'unable to get systemd connection' >&2 || true; }
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
token="container-test-platform-admin-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
podman volume create "$volume" >/dev/null
start_container() {
  # `serve` without --listen: the address comes from the environment, where `cellfleet
  # healthcheck` (the HEALTHCHECK) reads it too.
  podman run --detach --name "$container" --network host \
    --volume "$volume:/var/lib/cellfleet/data" \
    --env "CELLFLEET_SERVER_LISTEN=127.0.0.1:$port" \
    --env "CELLFLEET_PLATFORM_ADMIN_TOKEN=$token" \
    "$image" serve 2> >(without_timer_noise) >/dev/null || fail "podman run"
  for _ in $(seq 1 120); do
    [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url/healthz")" == 200 ]] && return 0
    [[ "$(podman inspect --format '{{.State.Running}}' "$container")" == true ]] ||
      fail "the container exited during start-up"
    sleep 0.25
  done
  fail "no answer from $url/healthz within 30 s"
}
# call METHOD PATH TOKEN [BODY]: prints the body, then the status on the last line.
call() {
  local args=(-s --max-time 10 -X "$1" -w '\n%{http_code}')
  [[ -n "$3" ]] && args+=(-H "Authorization: Bearer $3")
  [[ $# -ge 4 ]] && args+=(-H 'Content-Type: application/json' -d "$4")
  curl "${args[@]}" "$url$2"
}
expect() {  # expected-status, what, response (from call)
  local status=${3##*$'\n'}
  [[ "$status" == "$1" ]] || fail "$2: HTTP $status, expected $1: ${3%$'\n'*}"
}
json_field() { python3 -c 'import json, sys; d = json.load(sys.stdin)
for k in sys.argv[1].split("."): d = d[k]
print(d)' "$1"; }

start_container
phase "first start (until /healthz)"
expect 200 "GET /healthz" "$(call GET /healthz '')"
expect 200 "GET /readyz" "$(call GET /readyz '')"

r=$(call POST /v1/platform/organizations "$token" \
  '{"name":"Container Rentals","slug":"container","currency":"KES","time_zone":"Africa/Nairobi","owner_email":"owner@container.example"}')
expect 201 "POST /v1/platform/organizations" "$r"
key=$(echo "${r%$'\n'*}" | json_field api_key)
r=$(call POST /v1/devices "$key" \
  '{"serial":"CT-0001","model":"E-48","chemistry":"LFP","capacity_wh":2000,"nominal_voltage_mv":48000}')
expect 201 "POST /v1/devices" "$r"
device=$(echo "${r%$'\n'*}" | json_field id)
r=$(call GET "/v1/devices/$device" "$key")
expect 200 "GET /v1/devices/$device" "$r"
[[ "$(echo "${r%$'\n'*}" | json_field serial)" == CT-0001 ]] || fail "the battery read back is not the one created"

uid=$(podman exec "$container" id -u) || fail "podman exec id -u"
[[ "$uid" != 0 ]] || fail "the server runs as root inside the container"
pid=$(podman inspect --format '{{.State.Pid}}' "$container")
host_uid=$(awk '/^Uid:/ {print $2}' "/proc/$pid/status")
[[ "$host_uid" != 0 ]] || fail "the server process (pid $pid) runs as uid 0"
podman healthcheck run "$container" >/dev/null || fail "the image's HEALTHCHECK (cellfleet healthcheck) failed"
echo "container-test: API answers; server runs as uid $uid; HEALTHCHECK healthy"
phase "API checks"

stop_container() {
  local started elapsed code
  started=$(date +%s%N)
  podman stop --time 10 "$container" 2> >(without_timer_noise) >/dev/null || fail "podman stop"
  elapsed=$((($(date +%s%N) - started) / 1000000))
  code=$(podman inspect --format '{{.State.ExitCode}}' "$container")
  [[ "$code" == 0 ]] || fail "the server exited $code after SIGTERM, expected 0"
  ((elapsed < 10000)) || fail "podman stop took $elapsed ms (SIGTERM must stop it within 10 s)"
  podman logs "$container" 2>&1 | grep -q '"stopped"' || fail "no \"stopped\" log line after SIGTERM"
  echo "container-test: SIGTERM: exited 0 after $elapsed ms"
}
stop_container
podman rm "$container" 2> >(without_timer_noise) >/dev/null
phase "SIGTERM stop"

# A new container on the same volume sees the same data.
start_container
r=$(call GET "/v1/devices/$device" "$key")
expect 200 "GET /v1/devices/$device after a restart on the same volume" "$r"
[[ "$(echo "${r%$'\n'*}" | json_field serial)" == CT-0001 ]] || fail "the battery did not survive the restart"
stop_container
phase "restart on the volume"

echo "container-test: timings"
printf '  %s\n' "${timings[@]}"
echo "container-test: passed in $(($(date +%s) - t0)) s (image $size_mb MB)"

#!/usr/bin/env bash
# Make sure a Docker Engine answers, as the README promises: reuse a running one; else, as root on a
# Debian/Ubuntu machine, install Debian's docker.io, fio, busybox-static (and the mkfs tools the loop
# target uses) and start dockerd in the background, log and pid under the state folder.
# Exit 0 when an engine answers, 3 when none can be had (make report then falls back to `host`).
set -u
state=${VOLTOOLS_STATE_DIR:-/var/lib/voltools}
sock=/var/run/docker.sock
pkgs="docker.io fio busybox-static e2fsprogs xfsprogs"

answers() { timeout 10 docker info >/dev/null 2>&1; }
say() { printf 'engine: %s\n' "$*" >&2; }

missing=""
for cmd in dockerd fio busybox mkfs.ext4 mkfs.xfs; do command -v "$cmd" >/dev/null 2>&1 || missing=1; done
if [[ -n $missing && $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
  say "installing $pkgs (Debian packages)"
  export DEBIAN_FRONTEND=noninteractive
  mkdir -p "$state"
  { apt-get update -qq && apt-get install -y -qq $pkgs; } >>"$state/apt.log" 2>&1 || { say "apt-get install failed: see $state/apt.log"; exit 3; }
fi
if answers; then exit 0; fi
if [[ $(id -u) -ne 0 ]]; then
  say "no Docker Engine answers and you are not root: start Docker, or run this as root"; exit 3
fi
command -v dockerd >/dev/null 2>&1 || { say "no dockerd and no apt-get to install it: install Docker yourself"; exit 3; }
mkdir -p "$state"
pidfile="$state/dockerd.pid"
if [[ -f $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  say "dockerd (pid $(cat "$pidfile")) is starting; waiting for it"
elif pgrep -x dockerd >/dev/null; then
  say "a dockerd is running already; waiting for it, not starting a second"
else
  say "starting dockerd (log: $state/dockerd.log)"
  nohup dockerd >"$state/dockerd.log" 2>&1 </dev/null &
  echo $! >"$pidfile"
fi
for _ in $(seq 1 60); do
  if [[ -S $sock ]] && answers; then say "Docker Engine $(docker version --format '{{.Server.Version}}') answers"; exit 0; fi
  sleep 1
done
say "dockerd did not answer within 60 s: see $state/dockerd.log"; exit 3

#!/usr/bin/env bash
# Make sure a Docker Engine answers, as the README promises, without harming the machine:
#   - an engine that answers is reused; a dockerd that runs already is waited for, never doubled;
#   - as root with apt-get, only what is missing is installed, and the line before says exactly what:
#       fio -> fio, busybox -> busybox-static, mkfs.ext4 -> e2fsprogs, mkfs.xfs -> xfsprogs,
#       and Debian's docker.io only when no engine answers AND there is no dockerd
#       and no Docker package (docker-ce, docker-ce-cli, moby-engine, podman-docker, docker.io) per dpkg;
#     apt-get runs with --no-remove, so it aborts rather than remove anything; its log is
#     $state/apt.log and its last lines are shown when it fails;
#   - an installed engine that does not run is started: `systemctl start docker` where systemd runs,
#     else `dockerd` in the background (log and pid in the state folder).
# Environment:
#   VOLTOOLS_NO_INSTALL=1   never install anything: say what is missing and how to install it
#   VOLTOOLS_STATE_DIR      state folder (default /var/lib/voltools)
#   VOLTOOLS_ENGINE_WAIT    seconds to wait for a starting engine (default 60)
#   VOLTOOLS_SYSTEMD_DIR    where to look to tell whether systemd runs (default /run/systemd/system)
#   DOCKER_HOST             unix://PATH: the socket to check; tcp:// etc.: a remote engine, never
#                           started or installed here
# Exit status (all messages go to stderr, prefixed "engine: "):
#   0  a Docker Engine answers (tools still missing are reported, not fatal)
#   3  no engine can be had, or apt-get failed (make report then measures the `host` target alone)
#   4  an engine's socket exists but this user may not read and write it (run as root or join its group)
set -u
state=${VOLTOOLS_STATE_DIR:-/var/lib/voltools}
wait_s=${VOLTOOLS_ENGINE_WAIT:-60}
systemd_dir=${VOLTOOLS_SYSTEMD_DIR:-/run/systemd/system}
docker_pkgs=(docker-ce docker-ce-cli moby-engine podman-docker docker.io)
tools=(fio:fio busybox:busybox-static mkfs.ext4:e2fsprogs mkfs.xfs:xfsprogs)  # command:Debian package

host=${DOCKER_HOST:-unix:///var/run/docker.sock}
case $host in
  unix://*) sock=${host#unix://} ;;
  *) sock="" ;;  # a remote engine: nothing to start or install here
esac

say() { printf 'engine: %s\n' "$*" >&2; }
have() { command -v "$1" >/dev/null 2>&1; }
commas() { local out; out=$(printf '%s, ' "$@"); printf '%s' "${out%, }"; }
no_install() { [[ -n ${VOLTOOLS_NO_INSTALL:-} && ${VOLTOOLS_NO_INSTALL} != 0 ]]; }

probe_err=""
answers() {  # 0 when `docker info` succeeds; its error output is left in probe_err
  probe_err=""
  have docker || { probe_err="no docker command"; return 1; }
  probe_err=$(timeout 10 docker info 2>&1 >/dev/null)
}

no_permission() {  # the socket exists but is not ours to read and write, or docker says so
  if [[ -n $sock && -e $sock ]] && ! [[ -r $sock && -w $sock ]]; then return 0; fi
  [[ ${probe_err,,} == *"permission denied"* ]]
}

dpkg_installed() { dpkg -s "$1" 2>/dev/null | grep -qx 'Status: install ok installed'; }

is_root=0
[[ $(id -u 2>/dev/null) == 0 ]] && is_root=1

up=0
answers && up=1

if (( !up )) && no_permission; then
  where=${sock:-$host}
  group=""
  [[ -n $sock && -e $sock ]] && group=$(stat -c %G "$sock" 2>/dev/null)
  [[ -z $group || $group == UNKNOWN ]] && group=docker
  say "no permission on the Docker socket $where: run as root or add yourself to its group ($group)"
  exit 4
fi

# What is missing, and the Debian package for each.
missing_cmds=() missing_pkgs=()
for pair in "${tools[@]}"; do
  have "${pair%%:*}" || { missing_cmds+=("${pair%%:*}"); missing_pkgs+=("${pair#*:}"); }
done

# A Docker package already installed (its engine may just be stopped): never install docker.io then.
docker_pkg=""
if (( !up )) && [[ -n $sock ]] && have dpkg; then
  for p in "${docker_pkgs[@]}"; do
    if dpkg_installed "$p"; then docker_pkg=$p; break; fi
  done
fi
if (( !up )) && [[ -n $sock ]] && have dpkg && [[ -z $docker_pkg ]] && ! have dockerd; then
  missing_cmds=(dockerd "${missing_cmds[@]}") missing_pkgs=(docker.io "${missing_pkgs[@]}")
fi

if (( ${#missing_pkgs[@]} )); then
  what=$(commas "${missing_cmds[@]}")
  if no_install; then
    say "missing: $what; not installing (VOLTOOLS_NO_INSTALL=1); to install: apt-get install ${missing_pkgs[*]}"
  elif ! have apt-get; then
    say "missing: $what; no apt-get here: install them yourself (Debian packages: ${missing_pkgs[*]})"
  elif (( !is_root )); then
    say "missing: $what; not root, so not installing; as root: apt-get install ${missing_pkgs[*]}"
  else
    mkdir -p "$state"
    log=$state/apt.log
    say "installing ${missing_pkgs[*]} (missing: $what) with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    if ! { apt-get update && apt-get install -y --no-remove "${missing_pkgs[@]}"; } >"$log" 2>&1 </dev/null; then
      say "apt-get failed; its last lines (all of it in $log):"
      tail -n 15 "$log" | while IFS= read -r line; do say "  $line"; done
      exit 3
    fi
    hash -r
    still=()
    for c in "${missing_cmds[@]}"; do have "$c" || still+=("$c"); done
    (( ${#still[@]} )) && say "still missing after apt-get: $(commas "${still[@]}") (see $log)"
  fi
fi

(( up )) && exit 0

if [[ -z $sock ]]; then
  say "no Docker Engine answers at $host: start that engine, or unset DOCKER_HOST"; exit 3
fi
if (( !is_root )); then
  say "no Docker Engine answers and you are not root: start Docker, or run this as root"; exit 3
fi
if [[ -z $docker_pkg ]] && ! have dockerd; then
  if no_install; then why="VOLTOOLS_NO_INSTALL=1"
  elif ! have apt-get; then why="no apt-get here"
  elif ! have dpkg; then why="no dpkg here to tell whether a Docker package is installed"
  else why="it was not installed"; fi
  say "no Docker Engine here and none installed ($why): install Docker (e.g. apt-get install docker.io), then run this again"
  exit 3
fi
if ! have docker; then
  say "no docker command to ask the engine with: install your Docker's command-line client (e.g. docker-ce-cli)"
  exit 3
fi

mkdir -p "$state"
pidfile=$state/dockerd.pid
where="$state/dockerd.log"
start_by_hand() {
  say "starting dockerd (log: $state/dockerd.log)"
  nohup dockerd >"$state/dockerd.log" 2>&1 </dev/null &
  echo $! >"$pidfile"
}
if [[ -f $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  say "dockerd (pid $(cat "$pidfile")) is starting; waiting for it"
elif have pgrep && pgrep -x dockerd >/dev/null; then
  say "a dockerd is running already; waiting for it, not starting a second"
elif [[ -d $systemd_dir ]] && have systemctl; then
  say "starting Docker with systemctl start docker${docker_pkg:+ (package $docker_pkg)}"
  where="journalctl -u docker"
  if ! out=$(timeout 120 systemctl start docker 2>&1 </dev/null); then
    say "systemctl start docker failed: ${out##*$'\n'}"
    if have dockerd; then where="$state/dockerd.log"; start_by_hand
    else say "start your Docker Engine yourself"; exit 3; fi
  fi
elif have dockerd; then
  start_by_hand
else
  if [[ -n $docker_pkg ]]; then
    say "$docker_pkg is installed but there is no dockerd and no systemd to start it: start your Docker Engine, then run this again"
  else
    say "a docker command ($(command -v docker)) is here but no dockerd and no systemd: not installing docker.io beside it; start or install your Docker Engine"
  fi
  exit 3
fi

deadline=$((SECONDS + wait_s))
while :; do
  if answers; then
    say "Docker Engine $(docker version --format '{{.Server.Version}}' 2>/dev/null) answers"; exit 0
  fi
  (( SECONDS >= deadline )) && break
  sleep 1
done
say "no Docker Engine answered within $wait_s s: see $where"; exit 3

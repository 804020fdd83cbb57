#!/usr/bin/env bash
# A test cluster of real Docker Engines on this one machine, joined into one swarm.
#
#   scripts/cluster.sh up N     start N >= 3 extra dockerd nodes, swarm manager on node1
#   scripts/cluster.sh status   say what is up (exit 0 if the whole cluster is up, 3 if not)
#   scripts/cluster.sh down     remove every node, namespace, link, rule, mount and folder it made
#
# Each node K is a dockerd in its own network namespace (veth "eth0" into a host bridge on a
# private /24 that no address or route of this machine uses; no default route, no NAT, no address
# on the host side: the nodes reach each other and nothing else) and its own UTS namespace (host
# name nodeK). It is started with `nsenter --net=/var/run/netns/NAME`, never `ip netns exec`
# (which remounts /sys and hides the cgroup mounts dockerd needs). Its data root, exec root, pid
# file, log, trust key and unix socket live in $state/cluster/nodeK; its daemon config is an empty
# file there, so /etc/docker/daemon.json is not read; its containers go under the cgroup
# voltools-cluster-ID-nodeK. The host engine sets iptables FORWARD to DROP and bridged traffic
# passes iptables, so one rule (comment voltools-cluster-ID) lets the bridge forward to itself.
# The machine's own engine (/var/run/docker.sock) is never asked, stopped or changed.
#
# Environment:
#   VOLTOOLS_STATE_DIR          state folder (default /var/lib/voltools); the cluster is in its
#                               cluster/ folder, and its names carry a hash of that folder, so
#                               clusters of different state folders do not meet
#   VOLTOOLS_CLUSTER_WAIT       seconds to wait for each node's engine to answer (default 60)
#   VOLTOOLS_CLUSTER_DRIVER     storage driver of the nodes (default overlay2)
#   VOLTOOLS_CLUSTER_FAIL_NODE  K: start node K's dockerd with a bad flag (tests of a failed up)
# Exit status: 0 done; 1 failed at run time (one line on stderr says why); 2 bad usage or not
# root; 3 (status only) the cluster is not (wholly) up.
set -euo pipefail

state=${VOLTOOLS_STATE_DIR:-/var/lib/voltools}
dir=$state/cluster
wait_s=${VOLTOOLS_CLUSTER_WAIT:-60}
driver=${VOLTOOLS_CLUSTER_DRIVER:-overlay2}
fail_node=${VOLTOOLS_CLUSTER_FAIL_NODE:-}
netns_dir=/var/run/netns

say() { printf 'cluster: %s\n' "$*" >&2; }
die() { say "$1"; exit "${2:-1}"; }
usage() { die "usage: scripts/cluster.sh up N (N >= 3) | status | down" 2; }

# Names: a short hash of the state folder keeps two clusters' namespaces, links and rules apart.
cluster_id() {
  local real
  real=$(realpath -m "$state")
  printf '%s' "$real" | sha1sum | cut -c1-4
}
id=$(cluster_id)
prefix=vtc$id
bridge=${prefix}br
rule_comment=voltools-cluster-$id
cgroup_prefix=voltools-cluster-$id

node_name() { printf 'node%s' "$1"; }
netns_of() { printf '%s-n%s' "$prefix" "$1"; }
veth_of() { printf '%sh%s' "$prefix" "$1"; }
node_dir() { printf '%s/node%s' "$dir" "$1"; }
sock_of() { printf '%s/node%s/docker.sock' "$dir" "$1"; }
pidfile_of() { printf '%s/node%s/dockerd.pid' "$dir" "$1"; }
log_of() { printf '%s/node%s/dockerd.log' "$dir" "$1"; }

node_docker() {  # node_docker K ARGS...: the docker client on node K's socket
  local k=$1; shift
  timeout 20 docker -H "unix://$(sock_of "$k")" "$@"
}
answers() { node_docker "$1" version --format '{{.Server.Version}}' >/dev/null 2>&1; }

# ---- recorded state: node count and subnet of the cluster made in this folder ---------------
load_state() {  # sets n and subnet from $dir/cluster.env; 1 when there is none
  [[ -f $dir/cluster.env ]] || return 1
  n=$(sed -n 's/^n=//p' "$dir/cluster.env")
  subnet=$(sed -n 's/^subnet=//p' "$dir/cluster.env")
  [[ $n =~ ^[0-9]+$ && $subnet =~ ^10\.[0-9]+\.[0-9]+$ ]] || die "$dir/cluster.env is damaged: run scripts/cluster.sh down"
}

subnet_used() {  # subnet_used 10.X.Y: any address or route of the host, or of any netns, in 10.X.Y.0/24
  local net=$1 ns addrs routes
  addrs=$(ip -4 -o addr show)
  # Any route but the default one that covers it (10.0.0.0/8 and the like) makes it unsafe too.
  routes=$(ip -4 route show match "$net.0/24" | grep -v '^default' || true)
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
    addrs+=$'\n'$(nsenter --net="$netns_dir/$ns" ip -4 -o addr show 2>/dev/null || true)
  done
  [[ -n $routes || $addrs == *" $net."* ]]
}

pick_subnet() {  # the first free 10.213.Y.0/24, Y = 0..63
  local y
  for y in $(seq 0 63); do
    if ! subnet_used "10.213.$y"; then printf '10.213.%s' "$y"; return 0; fi
  done
  die "no free /24 in 10.213.0.0/18 for the cluster's bridge"
}

# ---- pieces, each made only when missing ------------------------------------------------------
ensure_bridge() {
  if ! ip link show "$bridge" >/dev/null 2>&1; then
    ip link add "$bridge" type bridge
    sysctl -qw "net.ipv6.conf.$bridge.disable_ipv6=1" || true
  fi
  ip link set "$bridge" up
  iptables -C FORWARD -i "$bridge" -o "$bridge" -m comment --comment "$rule_comment" -j ACCEPT 2>/dev/null ||
    iptables -I FORWARD -i "$bridge" -o "$bridge" -m comment --comment "$rule_comment" -j ACCEPT
}

ensure_netns() {  # ensure_netns K: namespace, veth pair, address 10.213.Y.(10+K)/24, lo up
  local k=$1 ns veth
  ns=$(netns_of "$k") veth=$(veth_of "$k")
  [[ -e $netns_dir/$ns ]] || ip netns add "$ns"
  if ! ip link show "$veth" >/dev/null 2>&1; then
    ip link add "$veth" type veth peer name eth0 netns "$ns"
  fi
  sysctl -qw "net.ipv6.conf.$veth.disable_ipv6=1" || true
  ip link set "$veth" master "$bridge" up
  nsenter --net="$netns_dir/$ns" sh -c "
    sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 || true
    ip link set lo up && ip link set eth0 up &&
    { ip -4 addr show dev eth0 | grep -q ' $(node_addr "$k")/' || ip addr add $(node_addr "$k")/24 dev eth0; }"
}

node_addr() { printf '%s.%s' "$subnet" $((10 + $1)); }

start_node() {  # start_node K: dockerd of node K in its namespaces, unless it runs already
  local k=$1 ns nd pid extra=()
  ns=$(netns_of "$k") nd=$(node_dir "$k")
  pid=$(cat "$(pidfile_of "$k")" 2>/dev/null || true)
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then return 0; fi
  mkdir -p "$nd/data" "$nd/exec"
  # Its own trust key, or every node has the engine ID of /etc/docker/key.json (a file key only).
  [[ -f $nd/daemon.json ]] || printf '{"deprecated-key-path": "%s/key.json"}\n' "$nd" >"$nd/daemon.json"
  [[ $fail_node == "$k" ]] && extra=(--no-such-flag-for-a-test)
  # unshare --uts: the node's own host name; setsid + nohup: it outlives this script.
  setsid nohup nsenter --net="$netns_dir/$ns" unshare --uts sh -c '
      hostname "$1"; shift; exec "$@"' sh "$(node_name "$k")" \
    dockerd --config-file "$nd/daemon.json" --data-root "$nd/data" --exec-root "$nd/exec" \
      --pidfile "$(pidfile_of "$k")" -H "unix://$(sock_of "$k")" \
      --storage-driver "$driver" \
      --containerd-namespace "$cgroup_prefix-node$k" \
      --containerd-plugins-namespace "$cgroup_prefix-node$k-plugins" \
      --cgroup-parent "/$cgroup_prefix-node$k" "${extra[@]}" \
    >"$(log_of "$k")" 2>&1 </dev/null &
  echo $! >"$nd/launcher.pid"
}

wait_node() {  # wait_node K: until node K's engine answers; a clear error naming it otherwise
  local k=$1 deadline=$((SECONDS + wait_s)) launcher
  launcher=$(cat "$(node_dir "$k")/launcher.pid" 2>/dev/null || true)
  until answers "$k"; do
    if [[ -n $launcher ]] && ! kill -0 "$launcher" 2>/dev/null && ! node_pid "$k" >/dev/null; then
      die "$(node_name "$k"): dockerd exited before its socket answered ($(last_log_line "$k")); log: $(log_of "$k"); scripts/cluster.sh down removes what was made"
    fi
    (( SECONDS < deadline )) ||
      die "$(node_name "$k"): no answer on $(sock_of "$k") within $wait_s s; log: $(log_of "$k"); scripts/cluster.sh down removes what was made"
    sleep 0.5
  done
}

last_log_line() {  # the last error line of node K's log (else its last line), shortened
  local log line
  log=$(log_of "$1")
  line=$(grep -E -i 'level=(error|fatal)|^Status:|failed' "$log" 2>/dev/null | tail -n 1 || true)
  [[ -n $line ]] || line=$(grep -v '^[[:space:]]*$' "$log" 2>/dev/null | tail -n 1 || true)
  printf '%s' "${line:0:200}"
}

node_pid() {  # the pid of node K's dockerd, if it runs
  local pid
  pid=$(cat "$(pidfile_of "$1")" 2>/dev/null) || return 1
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null && printf '%s' "$pid"
}

swarm_state() {  # node K's own swarm state (active, pending, ...), unknown when it does not answer
  local st
  st=$(node_docker "$1" info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null) || st=
  st=${st//$'\n'/}
  printf '%s' "${st:-unknown}"
}

ensure_swarm() {
  local k token
  # Only a node outside any swarm (inactive) joins: a pending one is reconnecting on its own.
  if [[ $(swarm_state 1) == inactive ]]; then
    node_docker 1 swarm init --advertise-addr "$(node_addr 1)" --listen-addr "$(node_addr 1):2377" >/dev/null ||
      die "node1: swarm init failed; log: $(log_of 1)"
  fi
  token=$(node_docker 1 swarm join-token -q worker) || die "node1: no worker join token; log: $(log_of 1)"
  for k in $(seq 2 "$n"); do
    [[ $(swarm_state "$k") == inactive ]] || continue
    node_docker "$k" swarm join --token "$token" --advertise-addr "$(node_addr "$k")" \
      --listen-addr "$(node_addr "$k"):2377" "$(node_addr 1):2377" >/dev/null ||
      die "$(node_name "$k"): swarm join failed; log: $(log_of "$k")"
  done
}

wait_ready() {  # every node Ready in the manager's node list
  local deadline=$((SECONDS + wait_s)) nudge_s=$((wait_s / 3 > 10 ? wait_s / 3 : 10)) nudge nudged= ready
  nudge=$((SECONDS + nudge_s))
  while :; do
    ready=$(node_docker 1 node ls --format '{{.Status}}' 2>/dev/null | grep -c '^Ready$' || true)
    (( ready >= n )) && return 0
    if [[ -z $nudged ]] && (( SECONDS >= nudge )); then
      nudged=1
      restart_down_nodes "$nudge_s" && (( deadline < SECONDS + nudge_s )) && deadline=$((SECONDS + nudge_s))
      continue
    fi
    (( SECONDS < deadline )) || die "only $ready of $n nodes Ready within $wait_s s ($(not_ready); manager log: $(log_of 1))"
    sleep 0.5
  done
}

listed_down() {  # the numbers K of the nodes the manager lists Down, and not also Ready
  node_docker 1 node ls --format '{{.Hostname}} {{.Status}}' 2>/dev/null |
    awk '$1 ~ /^node[0-9]+$/ {if ($2 == "Ready") up[$1] = 1; else if ($2 == "Down") down[$1] = 1}
         END {for (h in down) if (!(h in up)) print substr(h, 5)}' | sort -n
}

restart_down_nodes() {  # restart_down_nodes S: restart the dockerds of nodes listed Down that answer
  # A restarted node can say its swarm is active while the manager keeps it Down (seen once in
  # CI, for 60 s); its agent reconnects when its dockerd starts again. Fails if none was restarted.
  local k pid picked=()
  for k in $(listed_down); do
    (( k <= n )) && answers "$k" && picked+=("$k")
  done
  (( ${#picked[@]} )) || return 1
  for k in "${picked[@]}"; do
    say "$(node_name "$k"): its engine answers, but the manager lists it Down after $1 s; restarting its dockerd"
    pid=$(node_pid "$k") && [[ $(cat "/proc/$pid/comm" 2>/dev/null) == dockerd ]] && stop_pid "$pid" &
  done
  wait
  for k in "${picked[@]}"; do start_node "$k"; done
  for k in "${picked[@]}"; do wait_node "$k"; done
}

not_ready() {  # what the manager and each node say of the nodes not Ready, for the error
  local k said st
  said=$(node_docker 1 node ls --format '{{.Hostname}} {{.Status}}/{{.Availability}}' 2>/dev/null | grep -v ' Ready/' | tr '\n' ',')
  printf 'manager lists: %s' "${said%,}"
  for k in $(seq 1 "$n"); do
    st=$(node_docker "$k" info --format '{{.Swarm.LocalNodeState}} {{.Swarm.Error}}' 2>/dev/null) || st=unknown
    st=${st//$'\n'/}
    [[ $st == 'active ' && ,$said, != *",$(node_name "$k") "* ]] ||
      printf '; %s swarm %s, log: %s' "$(node_name "$k")" "${st% }" "$(last_log_line "$k")"
  done
}

print_nodes() {
  local k
  for k in $(seq 1 "$n"); do printf '%s %s\n' "$(node_name "$k")" "$(sock_of "$k")"; done
  printf 'DOCKER_HOST=unix://%s\n' "$(sock_of 1)"
}

# ---- commands ----------------------------------------------------------------------------------
cmd_up() {
  local want=$1 k
  if load_state; then
    (( n == want )) || die "a cluster of $n nodes is up in $dir: scripts/cluster.sh down first"
  else
    n=$want
    subnet=$(pick_subnet)
    mkdir -p "$dir"
    [[ -d $netns_dir ]] || touch "$dir/made-netns-dir"
    printf 'n=%s\nsubnet=%s\n' "$n" "$subnet" >"$dir/cluster.env"
  fi
  command -v dockerd >/dev/null || die "no dockerd here: install Docker (e.g. apt-get install docker.io)"
  ensure_bridge
  for k in $(seq 1 "$n"); do ensure_netns "$k"; start_node "$k"; done
  for k in $(seq 1 "$n"); do wait_node "$k"; done
  ensure_swarm
  wait_ready
  print_nodes
}

cmd_status() {
  local k up=0 pid st
  if ! load_state; then say "no cluster in $dir"; return 3; fi
  for k in $(seq 1 "$n"); do
    if pid=$(node_pid "$k") && answers "$k"; then
      st=$(swarm_state "$k")
      printf '%s %s pid %s swarm %s address %s\n' "$(node_name "$k")" "$(sock_of "$k")" "$pid" "$st" "$(node_addr "$k")"
      [[ $st == active ]] && up=$((up + 1))
    else
      printf '%s %s down\n' "$(node_name "$k")" "$(sock_of "$k")"
    fi
  done
  if (( up == n )); then
    printf 'DOCKER_HOST=unix://%s\n' "$(sock_of 1)"
    return 0
  fi
  say "$up of $n nodes up and in the swarm"
  return 3
}

stop_pid() {  # stop_pid PID: TERM, up to 30 s, then KILL; waits for it to be gone
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  say "process $pid does not exit"
}

our_pids() {  # processes of the cluster: in one of its namespaces, or engine parts naming its folder
  local ns pid
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$prefix-n" || true); do
    ip netns pids "$ns" 2>/dev/null || true
  done
  for pid in $(pgrep -f -- "$dir/node" || true); do
    case $(cat "/proc/$pid/comm" 2>/dev/null || true) in
      dockerd|containerd|containerd-shim*|docker-proxy|runc|nsenter|unshare|sh) echo "$pid" ;;
    esac
  done
}

stop_nodes() {
  local pidf pid
  # Each dockerd first, so that it stops its containers and its containerd itself.
  for pidf in "$dir"/node*/dockerd.pid; do
    [[ -f $pidf ]] || continue
    pid=$(cat "$pidf" 2>/dev/null || true)
    [[ -n $pid ]] && [[ $(cat "/proc/$pid/comm" 2>/dev/null || true) == dockerd ]] && stop_pid "$pid" &
  done
  wait
  # Containers of a node whose dockerd died (or would not stop them): everything in its cgroups.
  kill_cgroup_procs
  # Whatever is left of them (containerd, shims, launchers).
  for pid in $(our_pids | sort -un); do stop_pid "$pid" & done
  wait
}

cgroup_dirs() {  # the nodes' cgroups, in every hierarchy (v1) or the unified one (v2)
  local d
  for d in /sys/fs/cgroup/*/"$cgroup_prefix"-node* /sys/fs/cgroup/"$cgroup_prefix"-node*; do
    [[ -d $d ]] && printf '%s\n' "$d"
  done
  return 0
}

cgroup_procs() { cgroup_dirs | while read -r d; do find "$d" -name cgroup.procs -exec cat {} +; done | sort -un; }

kill_cgroup_procs() {  # KILL every process in the nodes' cgroups, and wait until they are gone
  local pids i
  for i in $(seq 1 50); do
    pids=$(cgroup_procs)
    [[ -n $pids ]] || return 0
    kill -KILL $pids 2>/dev/null || true
    sleep 0.1
  done
  say "processes left in the cluster's cgroups: $(echo $pids)"
}

unmount_all() {  # every mount under the cluster folder, deepest first
  local m
  [[ -d $dir ]] || return 0
  while read -r m; do
    [[ -n $m ]] || continue
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || say "cannot unmount $m"
  done < <(findmnt -rn -o TARGET | grep -F "$dir/" | awk '{print length, $0}' | sort -rn | cut -d' ' -f2-)
}

remove_net() {
  local ns link
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$prefix-n" || true); do
    ip netns del "$ns" || say "cannot delete namespace $ns"
  done
  for link in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1 | grep "^$prefix" || true); do
    ip link del "$link" 2>/dev/null || true
  done
  while iptables -D FORWARD -i "$bridge" -o "$bridge" -m comment --comment "$rule_comment" -j ACCEPT 2>/dev/null; do :; done
}

remove_cgroups() {  # deepest first; a cgroup still holding a process cannot go, and is named
  local d sub
  for d in $(cgroup_dirs); do
    while read -r sub; do
      rmdir "$sub" 2>/dev/null || say "cannot remove cgroup $sub"
    done < <(find "$d" -depth -type d)
  done
}

remove_netns_dir() {  # /var/run/netns, when this cluster made it and nothing else uses it now
  [[ -f $dir/made-netns-dir && -d $netns_dir ]] || return 0
  [[ -z $(ls -A "$netns_dir") ]] || return 0
  while findmnt -rn "$netns_dir" >/dev/null; do umount "$netns_dir" || break; done
  rmdir "$netns_dir" 2>/dev/null || true
}

cmd_down() {
  stop_nodes
  unmount_all
  remove_net
  remove_cgroups
  remove_netns_dir
  if [[ -d $dir ]]; then
    [[ -z $(findmnt -rn -o TARGET | grep -F "$dir/" || true) ]] || die "mounts are left under $dir: not removing it"
    rm -rf --one-file-system "$dir"
  fi
  say "down: no node, namespace, link, rule or folder of the cluster in $dir is left"
}

main() {
  [[ $# -ge 1 ]] || usage
  [[ $(id -u) == 0 ]] || die "run this as root: it makes network namespaces, links and dockerd processes" 2
  case $1 in
    up)
      [[ $# -eq 2 && $2 =~ ^[0-9]+$ ]] && (( $2 >= 3 )) || die "up needs a node count N >= 3: scripts/cluster.sh up N" 2
      (( $2 <= 20 )) || die "up: at most 20 nodes on one machine" 2
      cmd_up "$2" ;;
    status) [[ $# -eq 1 ]] || usage; cmd_status ;;
    down) [[ $# -eq 1 ]] || usage; cmd_down ;;
    *) usage ;;
  esac
}

main "$@"

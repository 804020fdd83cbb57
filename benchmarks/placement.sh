#!/bin/bash
# Does where a file lies move its read speed? fio in voltools' probe image, no voltools code:
#   files: three 64 MiB files written one after another on one tmpfs volume, read in turn, 10 passes;
#   volumes: three tmpfs volumes with one 64 MiB file each, read in turn, 12 passes;
#   disk: three 256 MiB files on one local volume (O_DIRECT), read in turn, 8 passes.
# Prints MiB/s per pass. Its objects carry the label voltools.run=placement and are removed at the
# end; after a kill, `voltools clean --run-id placement` removes them. Needs the probe image (any
# voltools sweep builds it). README, "--fresh-rounds", quotes its output of 2026-12-06.
set -eu
LABEL=voltools.run=placement
IMG=$(docker images --format '{{.Repository}}:{{.Tag}}' | grep '^voltools-probe:' | head -1)
[ -n "$IMG" ] || { echo "placement.sh: no voltools-probe image: run a voltools sweep first" >&2; exit 2; }
trap 'docker rm -f $(docker ps -aq --filter label=$LABEL) >/dev/null 2>&1; docker volume rm $(docker volume ls -q --filter label=$LABEL) >/dev/null 2>&1' EXIT

holder() {  # holder NAME VOLUME-OPTIONS...: a volume and a container holding it
  docker volume create --label $LABEL "${@:2}" "placement-$1" >/dev/null
  docker run -d --label $LABEL --name "placement-$1" -v "placement-$1:/data" --entrypoint sleep "$IMG" 900 >/dev/null
}
write() { docker exec "placement-$1" fio --name=w --filename="/data/$2" --size="$3" --rw=write --bs=1m --end_fsync=1 --output-format=terse >/dev/null; }
mibs() {  # mibs CONTAINER FILE SIZE DIRECT: read throughput in MiB/s
  docker exec "placement-$1" fio --name=r --filename="/data/$2" --rw=read --bs=64k --size="$3" --direct="$4" \
    --ioengine=psync --output-format=json | python3 -c 'import json,sys; print(round(json.load(sys.stdin)["jobs"][0]["read"]["bw_bytes"] / 2**20))'
}
TMPFS=(--driver local --opt type=tmpfs --opt device=tmpfs --opt o=size=256m)

holder files "${TMPFS[@]}"
for f in f1 f2 f3; do write files $f 64m; done
for pass in $(seq 1 10); do echo "files pass $pass: $(for f in f1 f2 f3; do echo -n "$f=$(mibs files $f 64m 0) "; done)"; done

for v in v1 v2 v3; do holder $v "${TMPFS[@]}"; write $v f 64m; done
for pass in $(seq 1 12); do echo "volumes pass $pass: $(for v in v1 v2 v3; do echo -n "$v=$(mibs $v f 64m 0) "; done)"; done

holder disk
for f in f1 f2 f3; do write disk $f 256m; done
for pass in $(seq 1 8); do echo "disk pass $pass: $(for f in f1 f2 f3; do echo -n "$f=$(mibs disk $f 256m 1) "; done)"; done

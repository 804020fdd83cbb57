#!/usr/bin/env bash
# Make sure headless Chromium is here for the report's screenshot test: reuse /usr/bin/chromium;
# else, as root on a Debian/Ubuntu machine, install Debian's `chromium` package quietly (log in the
# state folder). Idempotent. Exit 0 when chromium runs, 3 when it cannot be had (the test skips).
set -u
state=${VOLTOOLS_STATE_DIR:-/var/lib/voltools}
log="$state/apt-chromium.log"
say() { printf 'chromium: %s\n' "$*" >&2; }

found() { command -v chromium >/dev/null 2>&1 || [[ -x /usr/bin/chromium ]]; }
if found; then exit 0; fi
if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
  say "no chromium and no root apt-get to install it: the report screenshot test will skip"; exit 3
fi
mkdir -p "$state"
say "installing Debian's chromium (log: $log)"
export DEBIAN_FRONTEND=noninteractive
{ apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium; } >>"$log" 2>&1 \
  || { say "apt-get install chromium failed: see $log"; exit 3; }
found || { say "chromium installed but not on PATH: see $log"; exit 3; }

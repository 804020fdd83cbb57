"""A machine made of fakes for scripts/ensure-engine.sh (tests/integration/test_ensure_engine*.py).

PATH holds only a folder of fakes (docker, dockerd, dpkg, apt-get, id, systemctl, pgrep, fio, ...)
and a folder of symlinks to a few harmless real tools, so the real apt-get, dpkg, docker, systemctl
and dockerd can never be reached. Every fake appends "name argv..." to a log the tests read.
"""
import shutil
import subprocess

from repo import ROOT

SCRIPT = ROOT / "scripts" / "ensure-engine.sh"
REAL_TOOLS = ["bash", "cat", "cp", "chmod", "grep", "mkdir", "nohup", "sleep", "stat", "tail",
              "timeout", "touch"]
BASH = shutil.which("bash")
ALL_TOOLS = {"fio": "fio", "busybox": "busybox-static", "mkfs.ext4": "e2fsprogs",
             "mkfs.xfs": "xfsprogs"}

FAKES = {
    # `docker info` answers once $FAKE_DIR/engine-up exists (or after FAKE_UP_AFTER calls).
    "docker": r'''
case "$1" in
  info)
    if [ -n "${FAKE_UP_AFTER:-}" ]; then
      n=$(( $(cat "$FAKE_DIR/info-calls" 2>/dev/null || echo 0) + 1 )); echo "$n" >"$FAKE_DIR/info-calls"
      [ "$n" -ge "$FAKE_UP_AFTER" ] && touch "$FAKE_DIR/engine-up"
    fi
    [ -e "$FAKE_DIR/engine-up" ] && { echo "Server Version: 99.0.0-fake"; exit 0; }
    echo "${FAKE_DOCKER_ERR:-Cannot connect to the Docker daemon at unix:///x.sock. Is the docker daemon running?}" >&2
    exit 1 ;;
  version) echo "99.0.0-fake" ;;
esac''',
    "dockerd": r'''[ -n "${FAKE_DOCKERD_DUD:-}" ] || touch "$FAKE_DIR/engine-up"; echo "fake dockerd up"''',
    "systemctl": r'''
if [ -n "${FAKE_SYSTEMCTL_FAIL:-}" ]; then echo "Failed to start docker.service: Unit docker.service not found." >&2; exit 5; fi
touch "$FAKE_DIR/engine-up"''',
    "dpkg": r'''
[ "$1" = -s ] || exit 2
for p in ${FAKE_DPKG_INSTALLED:-}; do
  [ "$p" = "$2" ] && { printf 'Package: %s\nStatus: install ok installed\n' "$2"; exit 0; }
done
for p in ${FAKE_DPKG_CONFIG_ONLY:-}; do
  [ "$p" = "$2" ] && { printf 'Package: %s\nStatus: deinstall ok config-files\n' "$2"; exit 0; }
done
echo "dpkg-query: package '$2' is not installed and no information is available" >&2; exit 1''',
    "id": r'''[ "$1" = -u ] && echo "${FAKE_UID:-0}"''',
    "pgrep": r'''[ -n "${FAKE_PGREP:-}" ] && { echo 4242; exit 0; }; exit 1''',
    # "installs" a package by copying its fake commands from $FAKE_AVAIL into the fakes folder
    "apt-get": r'''
[ "$1" = install ] || exit 0
if [ -n "${FAKE_APT_FAIL:-}" ]; then
  for i in $(seq 1 30); do echo "Reading line $i"; done
  echo "E: $FAKE_APT_FAIL" >&2; exit 100
fi
for p in "$@"; do
  case "$p" in
    fio) cmds="fio" ;; busybox-static) cmds="busybox" ;; e2fsprogs) cmds="mkfs.ext4" ;;
    xfsprogs) cmds="mkfs.xfs" ;; docker.io) cmds="docker dockerd" ;; *) cmds="" ;;
  esac
  for c in $cmds; do cp "$FAKE_AVAIL/$c" "$FAKE_BIN/$c"; done
done''',
}
for _tool in ALL_TOOLS:
    FAKES[_tool] = 'echo "fake $0"'


def write_fake(folder, name):
    path = folder / name
    path.write_text(f'#!{BASH}\necho "{name} $*" >>"$FAKE_LOG"\n{FAKES[name]}\n')
    path.chmod(0o755)


def link_real_tools(folder):
    """`folder` holding symlinks to REAL_TOOLS (and seq): the only real commands a fake machine has."""
    for tool in REAL_TOOLS + ["seq"]:
        target = shutil.which(tool)
        assert target, f"{tool} is needed by the tests"
        (folder / tool).symlink_to(target)
    return folder


class Box:
    """A machine made of fakes: `have` what is on PATH, `run` the real script against them."""

    def __init__(self, root, real_tools):
        self.root = root
        self.bin = root / "bin"
        self.avail = root / "avail"
        self.state = root / "state"
        self.log = root / "calls.log"
        self.systemd = root / "systemd"
        for folder in (self.bin, self.avail):
            folder.mkdir()
        for name in FAKES:
            write_fake(self.avail, name)
        self.log.write_text("")
        self.env = {
            "PATH": f"{self.bin}:{real_tools}",
            "HOME": str(root),
            "LC_ALL": "C",
            "FAKE_LOG": str(self.log),
            "FAKE_DIR": str(root),
            "FAKE_BIN": str(self.bin),
            "FAKE_AVAIL": str(self.avail),
            "VOLTOOLS_STATE_DIR": str(self.state),
            "VOLTOOLS_SYSTEMD_DIR": str(self.systemd),  # absent: no systemd unless a test makes it
            "VOLTOOLS_ENGINE_WAIT": "5",
            "DOCKER_HOST": f"unix://{root}/docker.sock",  # absent socket: the real one is never seen
        }
        self.have("id", "dpkg", "apt-get", "pgrep")

    def have(self, *names):
        for name in names:
            shutil.copy(self.avail / name, self.bin / name)

    def tools(self, *, but=()):
        self.have(*[t for t in ALL_TOOLS if t not in but])

    def engine_up(self):
        (self.root / "engine-up").touch()

    def systemd_runs(self):
        self.systemd.mkdir()

    def run(self, script=SCRIPT, **kwargs):
        proc = subprocess.run([BASH, str(script)], env=self.env, capture_output=True, text=True,
                              timeout=60, **kwargs)
        self.calls = [line for line in self.log.read_text().splitlines()]
        return proc

    def called(self, name):
        return [c for c in self.calls if c == name or c.startswith(name + " ")]

    @property
    def apt(self):
        return self.called("apt-get")

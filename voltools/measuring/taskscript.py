"""The task script: a swarm task or a k8s Job lays out and reads a target in one process chain.

`SCRIPT` is FIXED: everything derived from the user's input reaches it only as positional
arguments ("$@"), a list of argv segments each preceded by its length, and every segment runs as
one argv, never as shell text. The segments are `layout.layout_steps` then one `jobs.read_argv`
per batch; the script prints each one's stdout, stderr and exit status between `@@voltools:`
markers. The output is replayed through the same `layout.lay_out` and `rows.point_rows` as a
docker sweep (`TaskReplay` checks every command against the expected one), so every orchestrator
stores the same rows.
"""
import re

from ..config import DATA_MOUNT
from ..errors import TargetError
from ..naming import is_name
from . import jobs
from .layout import has_reader, lay_out, layout_steps, workdir_of
from .rows import point_rows
from .sessions import ExecResult

MARK = "@@voltools:"

# "$@" = COUNT ARG... COUNT ARG...; each segment runs as one argv, never as shell text.
SCRIPT = r"""exec 2>&1
i=0
while [ "$#" -gt 0 ]; do
  n=$1
  shift
  echo "@@voltools:out:$i"
  (
    k=0
    total=$#
    for a in "$@"; do
      if [ "$k" -ge "$n" ]; then break; fi
      set -- "$@" "$a"
      k=$((k + 1))
    done
    shift "$total"
    exec "$@" 2>"${TMPDIR:-/tmp}/voltools-stderr"
  )
  code=$?
  echo "@@voltools:err:$i"
  cat "${TMPDIR:-/tmp}/voltools-stderr" 2>/dev/null
  echo "@@voltools:end:$i:$code"
  shift "$n"
  i=$((i + 1))
done
echo "@@voltools:done"
"""
SCRIPT_COMMAND = ("sh", "-c", SCRIPT, "sh")  # "sh" is $0; the steps follow as $1...


class TaskReplay:
    """A session that plays a finished task's recorded results back, checking each argv."""

    def __init__(self, steps, results, root=DATA_MOUNT):
        self.steps, self.results, self.root, self.index = steps, results, root, 0

    def run(self, argv, role="reader"):
        if self.index >= len(self.steps) or list(argv) != self.steps[self.index]:
            raise TargetError(f"task replay out of step at command {self.index} ({argv[0]}): "
                              "the task script and layout.lay_out disagree")
        result = self.results.get(self.index) or ExecResult(-1, "", "the task ended before this command ran")
        self.index += 1
        return result


def task_steps(plan, spec, run_id, root=DATA_MOUNT):
    """The argv lists a task runs for one target: lay-out (as layout.lay_out runs it), then reads."""
    workdir = workdir_of(root, run_id, spec.name)
    reads = [jobs.read_argv(workdir, points, fio_opts=plan.fio_opts) for points in plan.batches(spec.name)]
    return layout_steps(workdir, plan.sizes(), reader_check=has_reader(spec)) + reads


def script_args(steps):
    """The script's positional arguments: each argv preceded by its length."""
    return [str(arg) for step in steps for arg in (len(step), *step)]


def task_command(steps):
    """The whole argv of a task: the fixed script (SCRIPT_COMMAND), then the data as "$@"."""
    return [*SCRIPT_COMMAND, *script_args(steps)]


def node_tag(node):
    """A short name for a node in raw file names: its id's first 10 letters/digits, or 'node'."""
    tag = re.sub(r"[^A-Za-z0-9]", "", node.split("/")[0], flags=re.ASCII)[:10]
    return tag if is_name(tag) else "node"


def parse_sections(text):
    """{step index: ExecResult} from the script's output; a step without an end marker is left out."""
    results, current, buffers = {}, None, {}
    for line in text.splitlines(keepends=True):
        while MARK in line:
            before, _, rest = line.partition(MARK)
            if current:
                buffers[current] = buffers.get(current, "") + before
            marker, _, line = rest.partition("\n")
            current = _marker(marker.strip(), buffers, results)
        if current and line:
            buffers[current] = buffers.get(current, "") + line
    return results


def _marker(marker, buffers, results):
    """Act on one marker; return the (kind, index) whose text follows it, or None."""
    parts = marker.split(":")
    if parts[0] in ("out", "err") and len(parts) == 2 and parts[1].isdigit():
        return parts[0], int(parts[1])
    if parts[0] == "end" and len(parts) == 3 and parts[1].isdigit():
        index = int(parts[1])
        code = int(parts[2]) if parts[2].lstrip("-").isdigit() else -1
        results[index] = ExecResult(code, buffers.pop(("out", index), ""), buffers.pop(("err", index), ""))
    return None


def store_task(store, text, steps, plan, spec, run_id, seq, node, orchestrator, extra=None,
               progress=None, root=DATA_MOUNT):
    """Replay one task's output through layout.lay_out/point_rows into the store; return the next seq."""
    replay = TaskReplay(steps, parse_sections(text), root)
    layout = lay_out(replay, spec, plan.sizes(), run_id)
    tag = node_tag(node)
    for points in plan.batches(spec.name):
        result = replay.run(jobs.read_argv(layout.workdir, points, fio_opts=plan.fio_opts))
        raw = store.write_raw(f"{spec.name}-{tag}-{seq:05d}", result.stdout or result.stderr)
        rows = point_rows(points, result, raw, spec, layout, plan, run_id, seq, orchestrator, node)
        store.append_points(rows.assign(**(extra or {})))
        seq += len(points)
        if progress:
            progress(len(points), f"{spec.name} {points[0].rw} r{points[0].repeat} on {node}")
    return seq

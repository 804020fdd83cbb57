"""Shared helpers of the benchmark scripts: arguments, statistics, timing, host facts, results."""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from voltools.measuring import fio
from voltools import provenance

LABEL = "voltools.run"
REPORT_TARGETS = ["local", "tmpfs:size=512m", "loop:fs=ext4,size=1g", "host"]  # the Makefile's REPORT_TARGETS
DISK_PARENT = "/var/tmp"  # a host folder on the root filesystem (where Docker keeps its volumes)


def parser(doc):
    """argparse with the two flags every benchmark takes: --quick and --json PATH."""
    p = argparse.ArgumentParser(description=doc.strip().splitlines()[0])
    p.add_argument("--quick", action="store_true", help="fewer repeats (proves it runs, not a result)")
    p.add_argument("--json", metavar="PATH", help="write the result as JSON to PATH")
    return p


def summary(values):
    """Median, min, max, quartiles and n of a list of numbers (NaN-free); `values` keeps them in
    the order measured, so a drift over a benchmark's repeats stays visible in RESULTS.json."""
    measured = [float(v) for v in values]
    vals = sorted(measured)
    if not vals:
        return {"median": None, "min": None, "max": None, "q1": None, "q3": None, "n": 0, "values": []}
    q1, _, q3 = statistics.quantiles(vals, n=4, method="inclusive") if len(vals) > 1 else (vals[0],) * 3
    return {"median": statistics.median(vals), "min": vals[0], "max": vals[-1], "q1": q1, "q3": q3,
            "n": len(vals), "values": measured}


def fmt(s, scale=1.0, digits=3):
    """'median (min-max, n=..)' of a summary, values multiplied by `scale`."""
    if not s or s["median"] is None:
        return "n/a"
    f = f"{{:.{digits}f}}"
    return f"{f.format(s['median'] * scale)} ({f.format(s['min'] * scale)}-{f.format(s['max'] * scale)}, n={s['n']})"


def figure(name, values, unit, note=""):
    """A named figure: the summary of its repeats, with its unit."""
    return {"name": name, "unit": unit, "note": note, **summary(values)}


def bar(name, value, low, high, why="", unit=""):
    """A bar: met when low <= value <= high (None = unbounded); `why` explains a miss."""
    met = value is not None and (low is None or value >= low) and (high is None or value <= high)
    return {"name": name, "value": value, "low": low, "high": high, "unit": unit, "met": bool(met),
            "why": "" if met else why}


def clock():
    return time.perf_counter_ns()


def timed_run(argv, **kwargs):
    """Run argv on the host; return (wall seconds, CompletedProcess)."""
    start = clock()
    out = subprocess.run(argv, capture_output=True, text=True, check=False, **kwargs)
    wall = (clock() - start) / 1e9
    if out.returncode != 0:
        raise RuntimeError(f"{argv[0]} exited {out.returncode}: {out.stderr.strip()[-300:]}")
    return wall, out


def fio_rows(stdout):
    """fio JSON output as voltools' parsed rows (a DataFrame, one row per job)."""
    return fio.parse(stdout)


TMPFS = "tmpfs"  # scratch_dir(TMPFS): a tmpfs of its own (voltools refuses folders below /dev, e.g. /dev/shm)


@contextmanager
def scratch_dir(parent=DISK_PARENT, prefix="voltools-bench-"):
    """A temporary host folder, removed afterwards; parent=TMPFS mounts a private tmpfs there."""
    path = tempfile.mkdtemp(prefix=prefix, dir=DISK_PARENT if parent == TMPFS else parent)
    os.chmod(path, 0o755)  # the probe's reader runs as uid 65534 and must traverse it
    if parent == TMPFS:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0755,size=4g", "voltools-bench", path], check=True)
    try:
        yield Path(path)
    finally:
        if parent == TMPFS:
            subprocess.run(["umount", path], check=False)
        shutil.rmtree(path, ignore_errors=True)


RUN_IDS = []  # every run id this process made, for `finish`


def run_id(tag):
    """A fresh voltools run id for one benchmark step (remembered for `finish`)."""
    from voltools.naming import new_run_id
    rid = f"bench-{tag}-{new_run_id()}"[:48]
    RUN_IDS.append(rid)
    return rid


def report_targets(chosen=REPORT_TARGETS):
    """`chosen` (make report's targets by default) less loop unless root, as make report does."""
    return [t for t in chosen if os.geteuid() == 0 or not t.startswith("loop")]


def machine():
    """What the benchmark ran on: CPU, cores, memory, kernel, Docker Engine, fio, voltools."""
    facts = provenance.host_facts()
    facts.pop("hostname", None)
    try:
        from voltools.measuring import engine
        facts["docker_engine"] = engine.engine_version(engine.connect(timeout=30))
    except Exception as exc:  # the table says why there is no engine
        facts["docker_engine"] = f"none ({str(exc)[:80]})"
    from voltools.measuring.probe import fio_version_text
    facts["fio"] = fio_version_text()
    return facts


def leftovers(client, run_ids):
    """Containers and volumes still labeled with any of these run ids (should be 0)."""
    count = 0
    for rid in run_ids:
        flt = {"label": f"{LABEL}={rid}"}
        count += len(client.containers.list(all=True, filters=flt)) + len(client.volumes.list(filters=flt))
    return count


def finish(client):
    """Count what this process's run ids left on the engine, then remove it all (also after a failure)."""
    from voltools.measuring.cleanup import clean
    try:
        client = client or _connect()
        left = leftovers(client, RUN_IDS)
        for rid in RUN_IDS:
            clean(client, rid)
    except Exception as exc:  # the engine went away: say so, nothing more can be done here
        print(f"cleanup: {exc}", file=sys.stderr)
        return -1
    return left


def _connect():
    from voltools.measuring import engine
    return engine.connect()


def write(result, path):
    """Print the result's figures and bars; write it as JSON to `path` if given."""
    for f in result.get("figures", []):
        print(f"{f['name']:58} {fmt(f)} {f['unit']}")
    for b in result.get("bars", []):
        print(f"BAR {b['name']}: {'met' if b['met'] else 'MISSED'} (value {b['value']})")
    if path:
        Path(path).write_text(json.dumps(result, indent=2, default=str) + "\n")


def cpu_load():
    """The 1-minute load average (other work on the machine during the benchmark)."""
    return os.getloadavg()[0]


def median_ci(values, level=0.95, resamples=2000, seed=0):
    """A bootstrap confidence interval (percentile method, fixed seed) of the median."""
    import random
    vals = [float(v) for v in values]
    if len(vals) < 3:
        return None
    rng = random.Random(seed)
    meds = sorted(statistics.median(rng.choices(vals, k=len(vals))) for _ in range(resamples))
    cut = int(resamples * (1 - level) / 2)
    return [meds[cut], meds[-cut - 1]]

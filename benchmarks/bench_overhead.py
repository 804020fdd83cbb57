"""Orchestration overhead per point: a 50-point voltools sweep against bare fio and a container per point.

The anatomy of one fio call a point (`--no-pack`, `batch` points a call): what each part costs.
The default, small points replayed together in one call, is measured by bench_pointcost.py.

Overhead per point = (wall time - sum of fio's own job runtimes) / points, where fio's job runtime
is `runtime_s` of voltools' rows (fio's `runtime`, whole ms) or the same field of bare fio's JSON.
All files are on tmpfs (a voltools `tmpfs` target; a host /dev/shm folder for the others), so the
reads themselves take microseconds and what is left is orchestration. In the same run:

- voltools: `start_sweep(...).measure()` of 50 points (B = 4k..64k x N = 1..512, read, direct=1), with
  its parts timed by wrapping voltools' own functions (target set-up, containers, lay-out, each
  read exec, parse, raw and parquet writes, tear-down);
- bare fio, one host process per point (same argv, `voltools.measuring.jobs.read_argv`), also with
  `--clocksource=clock_gettime`, `--thread` and both;
- bare fio, one host process with the points as stonewalled jobs (what one fio call per batch costs);
- one new container per point (`containers.run(..., remove=True)`, the reader's hardening);
- voltools at its default batch and with all 50 points in one fio call;
- the sweep's lay-out argv (`voltools.measuring.jobs.layout_argv`) bare on the host, to tell the lay-out's
  own fio cost from voltools' part of it;
- fio's median latency of a 4 KiB tmpfs read with each option (does the figure change?).
The per-process, container and `both` variants use a sample of the points (every k-th), the
per-point figure being what is compared; variants run in a rotated order in each repeat.

    .venv/bin/python benchmarks/bench_overhead.py [--quick] [--json PATH]
"""
import sys
import tempfile
from collections import defaultdict
from contextlib import contextmanager

import _common as c
from voltools import api, store
from voltools.measuring import engine, jobs, probe, sessions, targets
from voltools.orchestrators import docker as measure
from voltools.measuring.plan import Point, SweepRequest, make_plan

GRID = dict(bs="4k,8k,16k,32k,64k", blocks="1,2,4,8,16,32,64,128,256,512", rw="read", direct="1")
BAR_MS = 25.0
FIO_OPTIONS = {"default": [], "clock_gettime": ["--clocksource=clock_gettime"], "thread": ["--thread"],
               "both": ["--clocksource=clock_gettime", "--thread"]}
HARDENING = dict(user="65534:65534", network_mode="none", cap_drop=["ALL"],
                 security_opt=["no-new-privileges"], read_only=True, tmpfs={"/tmp": "size=64m"})


@contextmanager
def instrumented():
    """Time voltools' own steps by wrapping them; yields {part: [seconds, ...]}."""
    parts, inside = defaultdict(list), []
    wraps = [(api, "start_sweep", "start_sweep: validate, engine ping, probe image, run folder"),
             (measure, "prepare", "target set-up (volume)"),
             (measure, "open_session", "probe containers start"),
             (measure, "lay_out", "lay-out (fio write, stat)"),
             (measure, "point_rows", "parse fio JSON into rows"),
             (store.RunStore, "write_raw", "raw fio output write (gzip, fsync)"),
             (store.RunStore, "append_points", "points part write (parquet, fsync)"),
             (store.RunStore, "compact", "compact parts + reload table"),
             (sessions.ContainerSession, "close", "containers removal"),
             (targets.PreparedTarget, "teardown", "target teardown (volume removal)")]
    saved = []

    def wrap(owner, attr, label):
        original = getattr(owner, attr)
        saved.append((owner, attr, original))

        def timed(*args, **kwargs):
            inside.append(label)
            start = c.clock()
            try:
                return original(*args, **kwargs)
            finally:
                inside.pop()
                if not inside:
                    parts[label].append((c.clock() - start) / 1e9)
        setattr(owner, attr, timed)

    for owner, attr, label in wraps:
        if hasattr(owner, attr):
            wrap(owner, attr, label)
    run = sessions.ContainerSession.run
    saved.append((sessions.ContainerSession, "run", run))

    def timed_run(self, argv, role="reader"):
        start = c.clock()
        try:
            return run(self, argv, role)
        finally:
            if not inside:
                label = "read exec (docker exec + fio)" if "--readonly" in argv else "remove work folder"
                parts[label].append((c.clock() - start) / 1e9)
    sessions.ContainerSession.run = timed_run
    try:
        yield parts
    finally:
        for owner, attr, original in reversed(saved):
            setattr(owner, attr, original)


def voltools_sweep(data_dir, blocks, batch):
    """A voltools sweep on a tmpfs target: (wall s, sum runtime_s, sum read_time_s, points, parts)."""
    rid = c.run_id("ovh")
    with instrumented() as parts:
        start = c.clock()
        table = api.start_sweep(["tmpfs:size=256m"], blocks=blocks, repeat=1, run_id=rid,
                                data_dir=data_dir, batch=batch, pack=False, **GRID).measure()
        wall = (c.clock() - start) / 1e9
    if (table["error"] != 0).any():
        raise RuntimeError(f"voltools rows with errors: {table['error_msg'].unique()[:3]}")
    return rid, {"wall_s": wall, "fio_runtime_s": float(table["runtime_s"].sum()),
                 "read_time_s": float(table["read_time_s"].sum()), "points": len(table),
                 "parts": {k: sum(v) for k, v in parts.items()}, "counts": {k: len(v) for k, v in parts.items()}}


def points_of(blocks):
    """The grid's points (as voltools.measuring.plan.Point), for the bare comparisons."""
    plan = make_plan(["tmpfs"], GRID["bs"], blocks, rw=GRID["rw"], direct=GRID["direct"], repeat=1)
    return plan.points("tmpfs")


def fio_runtime(stdout):
    return float(c.fio_rows(stdout)["runtime_ms"].sum()) / 1000


def bare_per_process(folder, points, options):
    """One host fio process per point: (wall s, sum of fio runtime s)."""
    wall = runtime = 0.0
    for point in points:
        took, out = c.timed_run(jobs.read_argv(folder, [point]) + options)
        wall, runtime = wall + took, runtime + fio_runtime(out.stdout)
    return {"wall_s": wall, "fio_runtime_s": runtime, "points": len(points)}


def bare_layout(folder, points):
    """The sweep's lay-out argv (`voltools.measuring.jobs.layout_argv`) bare on the host, in a fresh
    sub-folder."""
    sizes = sorted({p.size_bytes for p in points})
    with c.scratch_dir(str(folder), prefix="layout-") as sub:
        took, _ = c.timed_run(jobs.layout_argv(str(sub), sizes))
    return {"wall_s": took, "fio_runtime_s": 0.0, "points": len(points)}


def bare_one_call(folder, points, options):
    """One host fio process with every point as a stonewalled job."""
    took, out = c.timed_run(jobs.read_argv(folder, points) + options)
    return {"wall_s": took, "fio_runtime_s": fio_runtime(out.stdout), "points": len(points)}


def container_per_point(client, image, folder, points, rid):
    """A new hardened container per point (`containers.run`, removed), the folder bind-mounted ro."""
    from docker.types import Mount
    mount = [Mount("/data", str(folder), type="bind", read_only=True)]
    wall = runtime = 0.0
    for point in points:
        start = c.clock()
        out = client.containers.run(image, jobs.read_argv("/data", [point]), remove=True, mounts=mount,
                                    labels={c.LABEL: rid}, **HARDENING)
        wall += (c.clock() - start) / 1e9
        runtime += fio_runtime(out.decode())
    return {"wall_s": wall, "fio_runtime_s": runtime, "points": len(points)}


def per_point_ms(m):
    return (m["wall_s"] - m["fio_runtime_s"]) / m["points"] * 1000


def one_repeat(client, image, folder, data_dir, blocks, sample, turn):
    """Every variant once, in an order rotated by `turn`; returns {variant: measurement}."""
    pts, got = points_of(blocks), {}
    few = pts[::max(1, len(pts) // sample)][:sample]

    def sweep(batch):
        _, got[f"voltools sweep (batch={batch})"] = voltools_sweep(data_dir, blocks, batch)

    def containers():
        got["a new container per point (containers.run)"] = container_per_point(client, image, folder, few,
                                                                                c.run_id("ovh-ctr"))

    steps = [lambda: sweep(1), lambda: sweep(len(pts)), containers]
    for name, opts in FIO_OPTIONS.items():
        steps.append(lambda name=name, opts=opts: got.__setitem__(
            f"bare fio, a process per point ({name})", bare_per_process(str(folder), few, opts)))
    for name, which in (("default", pts), ("both", few)):
        steps.append(lambda name=name, which=which: got.__setitem__(
            f"bare fio, one process, stonewalled jobs ({name})",
            bare_one_call(str(folder), which, FIO_OPTIONS[name])))
    steps.append(lambda: got.__setitem__("bare fio lay-out (the sweep's lay-out argv on the host)",
                                         bare_layout(folder, pts)))
    lat_point = Point("tmpfs", "read", 1, 1, 4096, 8192, 0)  # the 32 MiB file is laid out already
    for name in ("default", "clock_gettime", "thread"):
        steps.append(lambda name=name: got.__setitem__(f"latency check ({name})", fio_latency(
            str(folder), lat_point, FIO_OPTIONS[name])))
    for step in steps[turn % len(steps):] + steps[:turn % len(steps)]:
        step()
    return got


def fio_latency(folder, point, options):
    """Per-I/O latency (ns, median and mean) fio reports for `point` with `options`: do they change it?"""
    _, out = c.timed_run(jobs.read_argv(folder, [point]) + options)
    row = c.fio_rows(out.stdout).iloc[0]
    return {"lat_p50_ns": float(row["lat_p50_ns"]), "lat_mean_ns": float(row["lat_mean_ns"])}


def main(argv=None):
    args = c.parser(__doc__).parse_args(argv)
    repeats, sample = (1, 5) if args.quick else (3, 8)
    client = engine.connect()
    image = probe.ensure_image(client)
    blocks = GRID.pop("blocks")
    runs = []
    try:
        with c.scratch_dir(c.TMPFS) as folder, tempfile.TemporaryDirectory() as data_dir:
            sizes = sorted({p.size_bytes for p in points_of(blocks)})
            c.timed_run(jobs.layout_argv(str(folder), sizes))
            for turn in range(repeats):
                runs.append(one_repeat(client, image, folder, data_dir, blocks, sample, turn))
    finally:
        left = c.finish(client)
    result = summarize(runs, sample)
    result.update(leftovers=left, load_avg_1m=c.cpu_load(), runs=runs)
    c.write(result, args.json)
    return 0 if left == 0 else 1


def summarize(runs, sample):
    """Figures per variant, paired ratios, voltools' parts and own share, and the bars."""
    default = SweepRequest().batch
    one, per_proc, stone = ("voltools sweep (batch=1)", "bare fio, a process per point (default)",
                            "bare fio, one process, stonewalled jobs (default)")
    lay = "bare fio lay-out (the sweep's lay-out argv on the host)"
    names = sorted((n for n in runs[0] if not n.startswith("latency") and n != lay),
                   key=lambda n: (not n.startswith("voltools"), n))
    ms = {n: [per_point_ms(r[n]) for r in runs] for n in names}
    figures = [c.figure(f"overhead per point: {n}", ms[n], "ms", f"{runs[0][n]['points']} points per repeat")
               for n in names]
    figures.append(c.figure("fio's own job runtime per point in the voltools sweep (runtime_s)",
                            [r[one]["fio_runtime_s"] / r[one]["points"] * 1000 for r in runs], "ms",
                            "subtracted above; read_time_s (lat_sum) is smaller still"))
    for n in ("default", "clock_gettime", "thread"):
        figures.append(c.figure(f"fio median latency of a 4 KiB tmpfs read, {n} options",
                                [r[f"latency check ({n})"]["lat_p50_ns"] for r in runs], "ns",
                                "p50 of 8192 reads per repeat"))
    for a, b in ((one, per_proc), ("a new container per point (containers.run)", one), (per_proc, stone)):
        figures.append(c.figure(f"ratio {a} / {b}", [x / y for x, y in zip(ms[a], ms[b])], "ratio", "per repeat"))
    parts = {k: [r[one]["parts"].get(k, 0) / r[one]["points"] * 1000 for r in runs] for k in runs[0][one]["parts"]}
    figures += [c.figure(f"voltools batch=1 part: {k}", v, "ms per point") for k, v in parts.items()]
    many = next(n for n in names if n.startswith("voltools") and n != one)
    in_box = [r[many]["parts"]["read exec (docker exec + fio)"] / r[many]["points"] * 1000 for r in runs]
    figures.append(c.figure(f"fio per stonewalled job inside the probe container ({many[16:-1]} read exec / points)",
                            in_box, "ms"))
    figures.append(c.figure("ratio fio per stonewalled job, probe container / host", [a / b for a, b in zip(
        in_box, ms[stone])], "ratio", "per repeat"))
    own, own_net = {}, {}
    for n in (x for x in names if x.startswith("voltools")):
        fio_part = ms[per_proc] if n == one else in_box
        own[n] = [a - b for a, b in zip(ms[n], fio_part)]
        own_net[n] = [a - per_point_ms(r[lay]) for a, r in zip(own[n], runs)]
        what = "bare fio process on the host" if n == one else "fio's stonewalled job in the container"
        figures.append(c.figure(f"voltools' own overhead per point, {n[16:-1]} (all-in minus {what})", own[n], "ms"))
        figures.append(c.figure(f"voltools' own overhead per point, {n[16:-1]}, lay-out's bare fio time also excluded",
                                own_net[n], "ms"))
    figures.append(c.figure("the sweep's lay-out bare on the host, per point of the sweep",
                            [per_point_ms(r[lay]) for r in runs], "ms", "what the lay-out's fio costs by itself"))
    figures.append(c.figure("docker exec per point (batch=1 read exec minus bare fio process)",
                            [a - b for a, b in zip(parts["read exec (docker exec + fio)"], ms[per_proc])], "ms"))
    key = f"voltools sweep (batch={default})" if f"voltools sweep (batch={default})" in own else one
    med = {f["name"]: f["median"] for f in figures}
    why = (f"docker exec {med['docker exec per point (batch=1 read exec minus bare fio process)']:.0f} ms per point "
           f"(one exec per fio call), lay-out {c.summary(parts['lay-out (fio write, stat)'])['median']:.0f} ms "
           "per point "
           f"(bare on the host {c.summary([per_point_ms(r[lay]) for r in runs])['median']:.0f}), points part write "
           f"{c.summary(parts['points part write (parquet, fsync)'])['median']:.0f} ms per point")
    bars = [c.bar(f"voltools' own overhead per point, --no-pack, batch={default} (fio's start-up excluded)",
                  c.summary(own[key])["median"], None, BAR_MS, unit="ms", why=why),
            c.bar(f"voltools' own overhead per point, --no-pack, batch={default}, lay-out's bare fio time also excluded",
                  c.summary(own_net[key])["median"], None, BAR_MS, unit="ms", why=why),
            c.bar(f"overhead per point all-in, --no-pack, batch={default} (fio's start-up included)",
                  c.summary(ms[key])["median"], None, BAR_MS, unit="ms",
                  why=f"fio's own start-up alone is {c.summary(ms[per_proc])['median']:.0f} ms per process")]
    return {"name": "overhead", "repeats": len(runs), "sample_points": sample, "default_batch": default,
            "figures": figures, "bars": bars,
            "findings": findings(med, {k: c.summary(v) for k, v in parts.items()}, runs)}


def findings(m, parts, runs):
    """What the figures say, in sentences."""
    f = lambda name: m[f"overhead per point: {name}"]  # noqa: E731
    proc, stone = (lambda o: f(f"bare fio, a process per point ({o})")), "bare fio, one process, stonewalled jobs"
    part = lambda k: parts.get(k, {}).get("median") or 0.0  # noqa: E731
    n = runs[0]["voltools sweep (batch=1)"]["points"]
    in_box = next(v for k, v in m.items() if k.startswith("fio per stonewalled job inside"))
    own1 = m["voltools' own overhead per point, batch=1 (all-in minus bare fio process on the host)"]
    net1 = m["voltools' own overhead per point, batch=1, lay-out's bare fio time also excluded"]
    own_n = m[f"voltools' own overhead per point, batch={n} (all-in minus fio's stonewalled job in the container)"]
    net_n = m[f"voltools' own overhead per point, batch={n}, lay-out's bare fio time also excluded"]
    lat = lambda o: m[f"fio median latency of a 4 KiB tmpfs read, {o} options"]  # noqa: E731
    moved = max(abs(lat(o) / lat("default") - 1) for o in ("clock_gettime", "thread"))
    per_call = part("read exec (docker exec + fio)")
    layout = m["the sweep's lay-out bare on the host, per point of the sweep"]
    return [
        f"fio's own start-up: {proc('default'):.0f} ms per fio process. --clocksource=clock_gettime: "
        f"{proc('clock_gettime'):.0f} ms (fio skips its CPU clock calibration, a loop of clock_gettime calls that "
        f"perf shows as most of fio's CPU time for a small job); --thread: {proc('thread'):.0f} ms (no change: "
        f"forking one job process is cheap); both: {proc('both'):.0f} ms. "
        + ("The figure measured does not move" if moved < 0.03 else f"The figure measured moves by up to {moved:.0%}")
        + f": a 4 KiB tmpfs read's median latency is {lat('default'):.0f} ns by default, "
        f"{lat('clock_gettime'):.0f} ns with clock_gettime, {lat('thread'):.0f} ns with --thread.",
        f"Stonewalled jobs in one fio process: {f(stone + ' (default)'):.0f} ms per job on the host "
        f"({f(stone + ' (both)'):.0f} ms with both options), {in_box:.0f} ms inside the probe container. fio's "
        "backend (run_threads() in backend.c) polls with 100 ms sleeps: one while a job initialises, one after "
        "starting it, and, unless the job had already exited when the loop reaped right after starting it, a "
        "third before the next stonewalled job may start. Tiny jobs on the host often win that race (200 ms); "
        "in the container they lose it (300 ms). So batching points into one fio call saves no fio time here, "
        "only the per-call costs (docker exec, one part write).",
        f"voltools at batch=1 (one fio call, one docker exec, one parquet part per point): "
        f"{f('voltools sweep (batch=1)'):.0f} ms per point all-in = fio's start-up {proc('default'):.0f} ms + "
        f"voltools' {own1:.0f} ms. Per point: docker exec {per_call - proc('default'):.0f} ms (the read exec takes "
        f"{per_call:.0f} ms), points part write {part('points part write (parquet, fsync)'):.1f} ms, parse "
        f"{part('parse fio JSON into rows'):.1f} ms, raw output {part('raw fio output write (gzip, fsync)'):.1f} ms. "
        f"Once per sweep, spread over {n} points: lay-out {part('lay-out (fio write, stat)'):.0f} ms (the same "
        f"fio lay-out bare on the host: {layout:.0f} ms), "
        f"containers {part('probe containers start') + part('containers removal'):.1f} ms, start-up checks "
        f"{part('start_sweep: validate, engine ping, probe image, run folder'):.1f} ms, compaction "
        f"{part('compact parts + reload table'):.1f} ms. Without the lay-out's bare fio time: {net1:.0f} ms.",
        f"voltools at batch={n} (all points in one call): {f(f'voltools sweep (batch={n})'):.0f} ms per point "
        f"all-in; voltools' own {own_n:.0f} ms, {net_n:.0f} ms without the lay-out's bare fio time.",
        f"A new container per point (containers.run, removed) costs "
        f"{f('a new container per point (containers.run)'):.0f} ms per point against "
        f"{per_call + part('points part write (parquet, fsync)'):.0f} ms for a voltools read exec plus its part "
        "write: the long-lived probe saves the container start, not fio's start-up.",
    ]


if __name__ == "__main__":
    sys.exit(main())

"""The public sweep API: keyword arguments in, one SweepRequest, one run.Run."""
from .measuring.plan import SweepRequest
from .run import Run, check


def start_sweep(targets=(), **kwargs):
    """Check everything, then lock the run and create its folder; `.measure(progress)` measures it.

    Keywords: `preset` ("quick", "default", "thorough": a grid the other keywords override), the
    grid (bs="4k,64k", blocks="1,16", rw, direct, iodepth, numjobs, repeat, memory, batch, reader,
    question, max_point, pack, fio_opt=["ioengine=pvsync2"], fresh_rounds), the run (run_id, data_dir, image), `orchestrator` ("docker",
    "swarm", "k8s") and that orchestrator's options (swarm: mode, constraints, nodes, timeout;
    k8s: storage_class, size, namespace, kubeconfig, context, timeout). Defaults: SweepRequest's."""
    return Run.start(SweepRequest.of(targets, **kwargs))


def resume_sweep(run_id, data_dir=None):
    """Carry on a stopped run with its own settings; `.measure(progress)` measures what is left."""
    return Run.resume(run_id, data_dir)


def sweep(targets=(), *, progress=None, **kwargs):
    """Measure a grid of read points on real targets; return the points table (one row per point).

    `progress`, if given, is called as progress(points_done_now, description); the keywords are
    start_sweep's."""
    return start_sweep(targets, **kwargs).measure(progress)


def dry_run(targets=(), **kwargs):
    """Every check a sweep runs, nothing made; return the SweepPlan."""
    return check(SweepRequest.of(targets, **kwargs), dry_run=True)[1]


def persist(targets=(), **kwargs):
    """Check, per target, that data written through it outlives its containers; return the outcomes
    (one row per target and check). Keywords: PersistRequest's fields (size="32m", engine_restart,
    run_id, data_dir, image, migrate_to, migrate_sizes, migrate_repeat), its defaults."""
    from .persist_run import PersistRequest, PersistRun
    return PersistRun.start(PersistRequest(tuple(targets), **kwargs)).measure()

"""The `voltools` command. The only module that prints or exits."""
import argparse
import math
import os
import signal
import sys
from pathlib import Path
from contextlib import contextmanager

from .errors import UsageError, VoltoolsError, first_line
from .formatting import format_bytes
from .interrupts import raise_interrupt
from .measuring.engine import translated
from .measuring.kinds import help_text as target_help
from .measuring.fioopts import ALLOWED as FIO_OPTS
from .measuring.plan import PRESETS, SweepRequest
from .orchestrators.registry import names as orchestrator_names
from .provenance import voltools_version
from .units import parse_size

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_STATUSES = """exit statuses:
  0    done
  1    a failure at run time (engine lost, a target that could not be set up, a sweep that stored error rows)
  2    bad input, or a request refused before anything was made
  130  interrupted (SIGINT, SIGTERM, SIGHUP): what the run made was removed, finished points are kept"""
DEFAULT = SweepRequest()  # the defaults live there; the parsers pass on only what was given


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line and exit status 2."""

    def error(self, message):
        raise UsageError(f"{message} (see '{self.prog} --help')")


def build_parser():
    parser = OneLineParser(prog="voltools", description="Measure container storage with fio and fit volume models.",
                           epilog=EXIT_STATUSES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    parser.add_argument("--version", action="version", version=f"voltools {voltools_version()}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    _add_sweep(sub)
    p = sub.add_parser("parse-fio", help="print fio JSON output files as CSV rows (or JSON)")
    p.add_argument("files", nargs="+", metavar="FILE", help="fio JSON output files; - reads stdin")
    p.add_argument("--format", default="csv", choices=("csv", "json"),
                   help="csv (default) or json: a list of row objects, NaN as null")
    p = sub.add_parser("summary", help="print the per-target summary of a run")
    p.add_argument("--run-id", required=True)
    p.add_argument("--data-dir", default=None, help="folder holding runs (default data/raw)")
    p.add_argument("--json", action="store_true", help="a JSON list of objects, one per target")
    _add_persist(sub)
    _add_compare(sub)
    _add_report(sub)
    _add_predict(sub)
    _add_k8s(sub)
    p = sub.add_parser("doctor", help="what is here and what is missing")
    p.add_argument("--json", action="store_true", help="a JSON list of {check, ok, detail, fix}")
    p = sub.add_parser("clean", help="remove every service, container, volume, loop device and folder voltools made")
    p.add_argument("--run-id", default=None, help="only this run's objects")
    p.add_argument("--images", action="store_true", help="also remove the probe image")
    p.add_argument("--node", action="append", metavar="URL", dest="nodes", default=[],
                   help="also clean this swarm node's engine (unix:///path/docker.sock, ssh://host, tcp://host:2376)")
    return parser


def _add_sweep(sub):
    p = sub.add_parser("sweep", help="measure read points on one or more targets", argument_default=argparse.SUPPRESS)
    p.add_argument("--target", action="append", metavar="SPEC", dest="targets",
                   help=target_help())
    _add_grid(p)
    p.add_argument("--image", help="probe image with fio on PATH: a local one, or REGISTRY/NAME:TAG for swarm/k8s")
    p.add_argument("--question", metavar="SIZE@BS",
                   help="what to answer, e.g. 40g@64k: adds reads at BS up to --max-point-size")
    p.add_argument("--max-point-size", metavar="SIZE", dest="max_point",
                   help="largest read a question adds (default a quarter of the dataset)")
    p.add_argument("--dry-run", action="store_true", help="check everything, print the plan, make nothing")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="no plan header and no progress bar on stderr (errors and the closing table still print)")
    p.add_argument("--resume", metavar="RUN_ID",
                   help="carry on a stopped run with its own settings: skips finished points")
    p.add_argument("--reader", help="fio (default), or python: voltools' own reader, host targets only")
    p.add_argument("--engine", dest="reader", action=_Renamed, default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    p.add_argument("--orchestrator", choices=orchestrator_names(),
                   help="docker: containers on this engine (default); swarm: job services; k8s: a Job on a PVC; "
                        "an option the chosen one cannot honour is refused")
    s = p.add_argument_group("swarm")
    s.add_argument("--mode", help="replicated (one node, default) or global (every node)")
    s.add_argument("--constraint", action="append", metavar="EXPR", dest="constraints",
                   help="placement constraint, e.g. node.labels.disk==ssd")
    s.add_argument("--node", action="append", metavar="URL", dest="nodes",
                   help="another node's engine (unix:///path/docker.sock, ssh://host, tcp://host:2376): gets the probe "
                        "image, is watched, leftovers removed")
    _add_k8s_options(p.add_argument_group("k8s"))
    p.add_argument("--timeout", type=float, help="swarm/k8s: seconds to wait for each job (default 3600)")


def _add_grid(p):
    p.add_argument("--preset", help=f"a grid to start from: {_preset_help()}; the grid options given "
                                    "override its values")
    p.add_argument("--bs", help=f"block sizes B (default {DEFAULT.bs})")
    p.add_argument("--blocks", help=f"block counts N (default {DEFAULT.blocks})")
    p.add_argument("--rw", help=f"read, randread or both (default {DEFAULT.rw})")
    p.add_argument("--direct", help=f"1 (O_DIRECT), 0 (buffered) or 0,1 (default {DEFAULT.direct})")
    p.add_argument("--iodepth", help=f"queue depths, e.g. 1 or 1,8 (default {DEFAULT.iodepth})")
    p.add_argument("--numjobs", help=f"jobs reading a point's file side by side, e.g. 1,4 (default "
                                     f"{DEFAULT.numjobs}); above 1 the read time is fio's runtime")
    p.add_argument("--fio-opt", action="append", metavar="KEY=VALUE", dest="fio_opt",
                   help=f"a read-side fio option the grid does not name (repeatable): {', '.join(FIO_OPTS)}; "
                        "a run with any is not packed (one fio job a point, the options appended)")
    p.add_argument("--repeat", help=f"repeats of every point (default {DEFAULT.repeat})")
    p.add_argument("--memory", help="memory limit of the probe containers, e.g. 256m")
    p.add_argument("--run-id", help="id of the run (default: UTC time + random)")
    p.add_argument("--data-dir", help="folder for runs (default data/raw)")
    p.add_argument("--batch", help=f"points per fio call for points not replayed together (default {DEFAULT.batch}; "
                                   "a kill loses the call)")
    p.add_argument("--fresh-rounds", dest="fresh_rounds", action="store_true",
                   help="set each target up anew for each round (a new volume, containers and files): "
                        "where a file lies in memory moves its read speed from one file or volume to the "
                        "next; drawn again each round, it enters the repeats' spread and compare's interval")
    p.add_argument("--no-pack", dest="pack", action="store_false",
                   help="one fio process per point (slower; for comparison); by default the O_DIRECT, "
                        "depth-1 points of a round of a target are replayed in one fio call from an I/O log "
                        "(at most 32768 reads and 4 GiB a call)")
    p.add_argument("--no-prefix", dest="prefix", action="store_false",
                   help="every replayed point reads its own file; by default the sequential points of a "
                        "block size in a round are one read of the largest, each of the others its first "
                        "N blocks (its latencies' sum, row's prefix_of: that read's seq), which the fit "
                        "takes apart into disjoint stretches")


def _preset_help():
    """Each preset in a few words: 'quick (bs 4k,64k,1m, blocks 1,16, rw read, repeat 2); ...'."""
    return "; ".join(f"{name} ({', '.join(f'{k} {v}' for k, v in grid.items())})" for name, grid in PRESETS.items())


def _add_k8s_options(group):
    group.add_argument("--storage-class", help="storage class of the claim, e.g. standard")
    group.add_argument("--size", help="size of the claim, e.g. 10g (default 1g)")
    group.add_argument("--namespace", help="default: default")
    group.add_argument("--kubeconfig", help="default: $KUBECONFIG or ~/.kube/config")
    group.add_argument("--context", help="kubeconfig context (default: its current one)")


def _add_k8s(sub):
    k8s = sub.add_parser("k8s", help="Kubernetes helpers").add_subparsers(
        dest="k8s_command", required=True, parser_class=OneLineParser)
    p = k8s.add_parser("manifest", help="print the PersistentVolumeClaim and Job of a k8s sweep as JSON",
                       argument_default=argparse.SUPPRESS)
    _add_grid(p)
    _add_k8s_options(p)
    p.add_argument("--image", required=True, help="REGISTRY/NAME:TAG of the probe, pullable by the cluster")
    p.add_argument("--timeout", type=float, help="the Job's deadline in seconds (default 3600)")


def _add_predict(sub):
    p = sub.add_parser("predict", help="answer a question from a run: full-read time per target with intervals")
    p.add_argument("--run-id", required=True)
    p.add_argument("--dataset-size", default=None, help="e.g. 4g (default: the run's --question)")
    p.add_argument("--bs", default=None, help="block size the dataset is read in, e.g. 64k (default: the run's)")
    p.add_argument("--data-dir", default=None, help="folder holding runs (default data/raw)")
    p.add_argument("--json", action="store_true", help="a JSON list of objects, one per target and rw")


def _add_persist(sub):
    from dataclasses import fields

    from .persist_run import PersistRequest
    default = {f.name: f.default for f in fields(PersistRequest)}  # the request is their one home
    p = sub.add_parser("persist", help="check, per target, that data written through it outlives its containers")
    p.add_argument("--target", action="append", metavar="SPEC", dest="targets", default=[],
                   help="kind[:key=value,...]; kinds: local, tmpfs:size=, loop:fs=,size=, bind:path=, layer")
    p.add_argument("--size", help=f"the data set written and verified (default {default['size']})")
    p.add_argument("--engine-restart", action="store_true", default=None,
                   help="also restart dockerd and verify again (root only; stops every container on this engine)")
    p.add_argument("--run-id", help="id of the run (default: UTC time + random)")
    p.add_argument("--data-dir", help="folder for runs (default data/raw)")
    p.add_argument("--image", help="probe image with fio on PATH (default: voltools' own)")
    m = p.add_argument_group("migration")
    m.add_argument("--migrate-to", metavar="SPEC", help="also time copies of each target's data to this target "
                                                        "and fit T_move = T_0 + V / beta_move")
    m.add_argument("--migrate-sizes", metavar="SIZES", help=f"sizes copied (default {default['migrate_sizes']})")
    m.add_argument("--migrate-repeat", metavar="N", help=f"copies of each size (default {default['migrate_repeat']})")
    m.add_argument("--move-size", metavar="SIZE", help="the move to predict, e.g. 40g")
    p.add_argument("--dry-run", action="store_true", help="check everything, print the plan, make nothing")
    p.add_argument("-q", "--quiet", action="store_true", help="no plan header on stderr")
    p.add_argument("--json", action="store_true", help="a JSON list of objects, one per target and check")


def _add_compare(sub):
    p = sub.add_parser("compare", help="compare two runs: ratio of expected full-read times B/A per target and rw")
    p.add_argument("run_a", metavar="RUN_A", help="the earlier (baseline) run")
    p.add_argument("run_b", metavar="RUN_B", help="the later run")
    p.add_argument("--question", default=None, metavar="SIZE@BS",
                   help="dataset read, e.g. 4g@64k (default: RUN_B's question, else RUN_A's)")
    p.add_argument("--fail-if-slower", default=None, metavar="PCT",
                   help="exit 1 when some (target, rw) is surely more than PCT slower, e.g. 10%%")
    p.add_argument("--data-dir", default=None, help="folder holding runs (default data/raw)")
    p.add_argument("--json", action="store_true", help="a JSON list of objects, one per target and rw")


def _add_report(sub):
    p = sub.add_parser("report", help="render the capacity report of a run as HTML")
    p.add_argument("--run-id", required=True)
    p.add_argument("--dataset-size", default=None, help="size of the dataset to plan for, e.g. 40g (default: the run's --question, else 40g)")
    p.add_argument("--bs", default=None, help="block size the dataset is read in, e.g. 64k (default: the run's, else 64k)")
    p.add_argument("--objective", default="600", help="read-time objective in seconds")
    p.add_argument("--data-dir", default=None, help="folder holding runs (default data/raw)")
    p.add_argument("-o", "--output", default=None, help="HTML file (default reports/<run-id>.html)")
    p.add_argument("--baseline-run", default=None, metavar="ID",
                   help="an earlier run to compare with (voltools compare ID RUN): a plot and a table")
    p.add_argument("--persist-run", default=None, metavar="ID",
                   help="a 'voltools persist' run to show: its checks and move-time fits")
    p.add_argument("--dry-run", action="store_true", help="check the inputs, say what would be rendered, make nothing")


class _Renamed(argparse.Action):
    """An option's old name: still works, and the CLI warns that it is deprecated."""

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, values)
        namespace.renamed = [*getattr(namespace, "renamed", []), (option_string, f"--{self.dest}")]


def main(argv=None):
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, raise_interrupt)
    try:
        args = build_parser().parse_args(argv)
        for old, new in getattr(args, "renamed", ()):
            _say("warning", f"{old} is deprecated: use {new}")
        with translated():  # what no step said in its own words: still one line
            return COMMANDS[args.command](args) or 0
    except VoltoolsError as exc:
        if debug:
            raise
        _say("error", exc)
        return exc.exit_status
    except BrokenPipeError:  # `voltools ... | head`: the reader left; say nothing more
        sys.stdout = open(os.devnull, "w")
        return 0
    except KeyboardInterrupt as exc:
        _say("interrupted", "what it made was removed, finished points are kept")
        for note in getattr(exc, "__notes__", ()):
            _say("warning", note)
        return EXIT_INTERRUPTED


def _say(kind, message):
    """One line on stderr: the message's first line, then its notes each on a line of their own."""
    print(f"voltools: {kind}: {first_line(message, None)}", file=sys.stderr)
    for note in getattr(message, "__notes__", ()):
        print(f"voltools: note: {note}", file=sys.stderr)


@contextmanager
def _checking():
    """Errors while checking what was asked are refusals (nothing was made): exit status 2."""
    try:
        yield
    except VoltoolsError as exc:
        exc.exit_status = EXIT_USAGE
        raise


def cmd_sweep(args):
    from .run import Run
    given = _given(args)
    resume, dry_run = given.pop("resume", None), given.pop("dry_run", False)
    quiet = given.pop("quiet", False)
    with _checking():
        if dry_run and resume is None:
            return _dry_run(given)
        run = _resumed(resume, given, dry_run) if resume is not None else Run.start(SweepRequest.of(**given))
    if not quiet:
        print("\n".join(_plan_lines(run.plan, run.run_id, run.done, run.expected_points() is None)), file=sys.stderr)
    with _progress(run.expected_points(), quiet) as progress:
        points = run.measure(progress)
    _print_points(points, run.store.path)
    return _failed_points(points, run.run_id)


def _given(args):
    """The options given on the command line (the sweep parsers keep no defaults), as keywords."""
    return {k: v for k, v in vars(args).items() if k not in ("command", "debug", "k8s_command", "renamed")}


def _dry_run(given):
    from .run import check
    _, plan, run_id = check(SweepRequest.of(**given), dry_run=True)
    print("\n".join(_plan_lines(plan, run_id)))
    print("plan: nothing was made (--dry-run)")


def _plan_lines(plan, run_id, done=frozenset(), each_node=False):
    """The plan header: points and rounds, each target's lay-out and reads, a rough time and its basis."""
    from .measuring.estimate import estimate, target_loads
    loads = target_loads(plan, done)
    guess = estimate(plan, loads)
    where = " on each node" if each_node else ""
    left = f" left of {plan.total_points()}" if done else ""
    width = max(len(t.name) for t in loads)
    fresh = ", each target set up anew each round (the estimate counts one set-up a target)" if plan.fresh_rounds else ""
    return [f"plan: run {run_id}: {guess.points} points{left}{where} on {len(loads)} target(s) "
            f"in {plan.rounds()} round(s){fresh}",
            *(f"plan:   {t.name:<{width}}  {t.points} points, {format_bytes(t.layout_bytes)} laid out"
              f"{' each round' if plan.fresh_rounds else ''}, "
              f"{format_bytes(t.read_bytes)} read" for t in loads),
            _estimate_line(guess, where)]


def _estimate_line(guess, where=""):
    """The rough time, with what it rests on: stated costs, not measured here."""
    from .formatting import duration, rate_text
    from .measuring.estimate import BASIS
    return (f"plan: estimated time about {duration(guess.seconds, 2)}{where}: {guess.calls} fio calls x "
            f"{guess.call_cost_s:g} s + {format_bytes(guess.read_bytes)} read at {rate_text(guess.bytes_per_s)} "
            f"({BASIS})")


def _failed_points(points, run_id):
    """Exit status 1 when any point stored an error (after saying how many and the first)."""
    failed = points[points["error"].fillna(-1) != 0]
    if len(failed):
        first = failed.iloc[0]
        raise VoltoolsError(
            f"{len(failed)} of {len(points)} points failed; first: {first['target']} {first['rw']} "
            f"{first['bs_bytes']} B x {first['blocks']}: {first['error_msg']} "
            f"('voltools sweep --resume {run_id}' measures them again)")
    return 0


def _resumed(run_id, given, dry_run):
    """The stopped run, to carry on with its own settings: any other option is refused."""
    from .orchestrators.registry import backend, flag
    from .run import Run
    extra = sorted(set(given) - {"data_dir"}) + (["dry_run"] if dry_run else [])
    if extra == ["orchestrator"] and "resume" not in backend(given["orchestrator"]).features:
        raise UsageError(f"--resume is not supported by --orchestrator {given['orchestrator']}")
    if extra:
        raise UsageError(f"--resume RUN_ID carries on a run with its own settings: give no {flag(extra[0])}")
    return Run.resume(run_id, given.get("data_dir"))


@contextmanager
def _progress(total=None, quiet=False, stream=None):
    """A tqdm bar (points done of total, the current point, ETA) as a progress callback, redrawn
    once per call: a call is a fio call's points, or a new label alone (a swarm task's state). None
    when `stream` (stderr) is not a terminal, so a log gets no redraws, or when `quiet`."""
    from tqdm import tqdm
    stream = sys.stderr if stream is None else stream
    with tqdm(total=total, unit="pt", file=stream, dynamic_ncols=True, leave=False, mininterval=0, miniters=1,
              disable=quiet or not stream.isatty()) as bar:
        def progress(done, label):
            bar.set_description(label, refresh=not done)
            bar.update(done)
        yield progress


def _print_points(points, path=None):
    from .analysis.summary import readable, target_summary
    if not len(points):
        return
    where = f" in {Path(path).resolve()}" if path else ""
    print(f"run {points['run_id'].iloc[0]}: {len(points)} points{where}")
    print(readable(target_summary(points)).to_string(index=False, float_format=lambda v: f"{v:.4g}"))


def cmd_persist(args):
    import json

    from dataclasses import fields

    from .persist_run import PersistRequest, PersistRun, check
    given = {f.name: getattr(args, f.name) for f in fields(PersistRequest) if f.name != "targets"}
    request = PersistRequest(tuple(args.targets), **{k: v for k, v in given.items() if v is not None})
    with _checking():
        move_size = parse_size(args.move_size, "--move-size") if args.move_size else None
        if args.dry_run:
            print("\n".join(_persist_plan(check(request))))
            print("plan: nothing was made (--dry-run)")
            return
        run = PersistRun.start(request)
    if not args.quiet:
        print("\n".join(_persist_plan(run.plan)), file=sys.stderr)
    table = run.measure()
    if args.json:
        print(json.dumps(_json_rows(table.drop(columns=["raw_files", "finished_at"])), indent=2))
        return
    print(f"run {run.plan.run_id}: a {format_bytes(run.plan.size_bytes)} data set per target, verified in "
          f"{format_bytes(table['bs_bytes'].iloc[0])} blocks (fio verify=crc32c), in {Path(run.store.path).resolve()}")
    print("\n".join(_persist_lines(table)))
    if run.moves:
        print("\n".join(_move_lines(run.moves, move_size)))


def _move_lines(moves, move_size):
    """The move-time fit of each (source, destination), and its prediction of a move of `move_size`."""
    from .analysis.migration import fit_moves, moves_frame, predict_move
    from .formatting import rate_text
    lines = []
    for fit in fit_moves(moves_frame(moves)):
        lines.append(f"move {fit.source} -> {fit.destination}: T_move = T_0 + V / beta_move from {fit.moves} copies "
                     f"of {fit.sizes} sizes: T_0 = {_seconds(fit.t0_s)} [{_seconds(fit.t0_low_s)}, "
                     f"{_seconds(fit.t0_high_s)}], beta_move = {rate_text(fit.beta_bytes_per_s)} "
                     f"[{rate_text(fit.beta_low)}, {rate_text(fit.beta_high) if fit.beta_high < math.inf else '∞'}]")
        if move_size:
            p = predict_move(fit, move_size)
            verdict = "" if p.holds else f" (does not hold: {p.why})"
            lines.append(f"  moving {format_bytes(move_size)}: about {_seconds(p.mean_s)} [{_seconds(p.mean_low_s)}, "
                         f"{_seconds(p.mean_high_s)}], one move [{_seconds(p.low_s)}, {_seconds(p.high_s)}]{verdict}")
    return lines


def _persist_plan(plan):
    """The plan header of a persist run: its data set, and each target's checks."""
    from .measuring.verify import BS, blocks
    width = max(len(t.name) for t in plan.targets)
    return [f"plan: run {plan.run_id}: {len(plan.checks)} checks on {len(plan.targets)} target(s), a "
            f"{format_bytes(plan.size_bytes)} data set each ({blocks(plan.size_bytes)} blocks of {format_bytes(BS)})",
            *(f"plan:   {t.name:<{width}}  {', '.join(plan.checks)}" for t in plan.targets),
            *([f"plan: moves to {plan.destination.name}: {', '.join(map(format_bytes, plan.move_sizes))} from each "
               f"target a second container can mount (not layer), {plan.move_repeat} copies of each"]
              if plan.destination else [])]


def _persist_lines(table):
    """One line per target and check: outcome, blocks verified good of all, seconds, why it failed."""
    rows = [("target", "check", "outcome", "blocks ok", "seconds", "reason")]
    rows += [(r.target, r.check, "passed" if r.passed else "FAILED", f"{r.blocks_ok}/{r.blocks_ok + r.blocks_bad}",
              f"{r.seconds:.2f}", f"{r.reason}: {r.detail}" if r.reason else "") for r in table.itertuples()]
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    return [("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[5]).rstrip() for row in rows]


def cmd_k8s(args):
    import json

    from .naming import check_name, new_run_id
    from .orchestrators.registry import backend
    given = _given(args)
    if not given.get("storage_class"):
        raise UsageError("k8s manifest needs --storage-class NAME, e.g. --storage-class standard")
    request = SweepRequest.of(**given, orchestrator="k8s")
    k8s = backend("k8s", request.options)
    plan = k8s.plan(request)
    k8s.check(plan, new_run_id() if request.run_id is None else check_name(request.run_id))
    print(json.dumps({"apiVersion": "v1", "kind": "List", "items": k8s.manifests}, indent=2))


def cmd_parse_fio(args):
    import json

    from .measuring.fio import parse_many
    if args.files.count("-") > 1:
        raise UsageError("parse-fio reads stdin once: give - at most once")
    table = parse_many(args.files)
    if args.format == "json":
        print(json.dumps(_json_rows(table), indent=2))
    else:
        table.to_csv(sys.stdout, index=False)


def _json_rows(table):
    """A DataFrame as a list of dicts of plain values, NaN/NA as None."""
    import pandas as pd
    rows = []
    for row in table.astype(object).to_dict("records"):
        rows.append({k: None if v is None or v is pd.NA or (isinstance(v, float) and v != v)
                     else (v.item() if hasattr(v, "item") else v) for k, v in row.items()})
    return rows


def cmd_summary(args):
    from .errors import StoreError
    from .store import load_run
    with _checking():
        points = load_run(args.run_id, args.data_dir)
        if not len(points):
            raise StoreError(f"run {args.run_id} has no points yet: resume it with 'voltools sweep --resume {args.run_id}'")
    if args.json:
        import json

        from .analysis.summary import summary_records, target_summary
        print(json.dumps(summary_records(target_summary(points)), indent=2))
        return
    _print_points(points)


def cmd_report(args):
    from .analysis.report import output_path, parameters, write
    with _checking():
        params = parameters(args.run_id, args.dataset_size, args.bs, args.objective, args.data_dir,
                            args.baseline_run, args.persist_run)
        out = output_path(f"reports/{args.run_id}.html" if args.output is None else args.output)
    if args.dry_run:
        size, bs = (format_bytes(parse_size(params[k], k)) for k in ("dataset_size", "bs"))
        print(f"report: run {params['run_id']}, {size} read in {bs} blocks, to {out.as_uri()}")
        print("report: nothing was made (--dry-run)")
        return
    print(f"report: {write(params, out).as_uri()}")


def cmd_predict(args):
    import json

    from .analysis.answers import predict_table, records
    with _checking():
        points, question = _question_of(args)
    table = predict_table(points, *question)
    if args.json:
        print(json.dumps(records(table), indent=2))
        return
    print(f"run {args.run_id}: {format_bytes(question[0])} read in {format_bytes(question[1])} blocks")
    for row in table.itertuples():
        verdict = f"  (from {row.basis})" if row.holds else f"  (does not hold: {row.why})"
        print(f"{row.target:>12} {row.rw:>8}  {_seconds(row.mean_s)} [{_seconds(row.mean_low_s)}, "
              f"{_seconds(row.mean_high_s)}], one read [{_seconds(row.low_s)}, {_seconds(row.high_s)}]"
              f"{verdict}")


def _question_of(args):
    """The run's points and (dataset bytes, block size): given, else the run's own question."""
    from .errors import StoreError
    from .store import RunStore
    store = RunStore.open(args.run_id, args.data_dir)
    asked = store.read_meta().get("question") or {}
    size = parse_size(args.dataset_size, "--dataset-size") if args.dataset_size else asked.get("dataset_bytes")
    bs = parse_size(args.bs, "--bs") if args.bs else asked.get("bs_bytes")
    if not size or not bs:
        raise UsageError(f"run {args.run_id} was not asked a question: give --dataset-size and --bs, e.g. "
                         "--dataset-size 4g --bs 64k")
    points = store.points()
    if not len(points):
        raise StoreError(f"run {args.run_id} has no points yet")
    return points, (size, bs)


def _seconds(value):
    """Seconds in one unit for a whole interval's parts: 3 significant figures."""
    return "n/a" if value != value else f"{value:.3g} s"


def cmd_doctor(args):
    from .measuring.doctor import checks
    results = checks()
    if args.json:
        import json

        from .measuring.doctor import check_records
        print(json.dumps(check_records(results), indent=2))
        return 0 if all(c.ok for c in results) else 1
    for check in results:
        mark = "ok     " if check.ok else "MISSING"
        fix = f"  -> {check.fix}" if check.fix and not check.ok else ""
        print(f"{mark} {check.name:14} {check.detail}{fix}")
    return 0 if all(c.ok for c in results) else 1


def cmd_compare(args):
    import json

    from .analysis.compare import compare_runs, gate, parse_percent, placement_note, records, with_placement
    with _checking():
        percent = None if args.fail_if_slower is None else parse_percent(args.fail_if_slower)
        (points_a, meta_a), (points_b, meta_b) = (_run_of(r, args.data_dir) for r in (args.run_a, args.run_b))
        size, bs = _compare_question(args, meta_a, meta_b)
    table = with_placement(compare_runs(points_a, points_b, size, bs), meta_a, meta_b)
    placement = placement_note(meta_a, meta_b)
    if args.json:
        print(json.dumps(records(table), indent=2))
    else:
        print(f"{args.run_b} over {args.run_a}: {format_bytes(size)} read in {format_bytes(bs)} blocks, "
              f"ratio of expected read times {_interval_title(table)}")
        for row in table.itertuples():
            if row.verdict == "unknown":
                print(f"{row.target:>12} {row.rw:>8}  unknown: {row.why}")
                continue
            print(f"{row.target:>12} {row.rw:>8}  {_seconds(row.a_mean_s)} -> {_seconds(row.b_mean_s)}  "
                  f"{_ratio_text(row.ratio, row.ratio_low, row.ratio_high)}  "
                  f"beta {_ratio_text(row.beta_ratio, row.beta_ratio_low, row.beta_ratio_high)}  "
                  f"alpha {_ratio_text(row.alpha_ratio, row.alpha_ratio_low, row.alpha_ratio_high)}  "
                  f"{row.verdict}{_within_run_note(row)}")
        if not len(table):
            print("no (target, rw) is in both runs")
        elif placement:
            print(f"note: {placement}")
    if percent is not None:
        failed = gate(table, percent)
        if len(failed):
            first = next(failed.itertuples())
            raise VoltoolsError(f"{len(failed)} (target, rw) slower by more than {percent:g}%: first "
                                f"{first.target} {first.rw} x{first.ratio:.3g} "
                                f"[{first.ratio_low:.3g}, {first.ratio_high:.3g}]{_within_run_note(first)}")
    return 0


def _ratio_text(ratio, low, high):
    """'x1.05 [0.93, 1.2]', or 'unknown' where a fit's estimate is not positive (no ratio)."""
    if not math.isfinite(ratio):
        return "unknown (an estimate not above 0)"
    return f"x{ratio:.3g} [{low:.3g}, {high:.3g}]"


def _interval_title(table):
    """'[95% interval]', unless some row's interval holds within-run noise only (marked on its line)."""
    from .analysis.drift import within_run_only
    if any(map(within_run_only, table["interval_covers"])):
        return "[95% interval between runs; where marked, an interval of within-run noise only]"
    return "[95% interval]"


def _within_run_note(row):
    """'' for an interval between runs, else what it holds and why (a run of one round)."""
    from .analysis.drift import WITHIN_RUN, within_run_only
    if not within_run_only(row.interval_covers):
        return ""
    return (f"  (interval of {WITHIN_RUN}, not 95% between runs: rounds A {row.rounds_a}, B {row.rounds_b}; "
            "a run of 2 or more rounds shows its drift)")


def _run_of(run_id, data_dir):
    from .errors import StoreError
    from .store import RunStore
    store = RunStore.open(run_id, data_dir)
    points = store.points()
    if not len(points):
        raise StoreError(f"run {run_id} has no points yet")
    return points, store.read_meta()


def _compare_question(args, meta_a, meta_b):
    """(dataset bytes, block size): --question, else RUN_B's question, else RUN_A's."""
    from .measuring.plan import parse_question
    if args.question:
        q = parse_question(args.question)
        return q.dataset_bytes, q.bs_bytes
    for meta in (meta_b, meta_a):
        asked = meta.get("question") or {}
        if asked.get("dataset_bytes") and asked.get("bs_bytes"):
            return int(asked["dataset_bytes"]), int(asked["bs_bytes"])
    raise UsageError(f"neither {args.run_b} nor {args.run_a} was asked a question: give --question SIZE@BS, "
                     "e.g. --question 4g@64k")


def cmd_clean(args):
    from .errors import StoreError
    from .naming import check_name
    from .runlock import RunLock
    from .orchestrators.nodes import check_url
    lock = None
    with _checking():  # refused before anything is removed: exit 2, as a resume of a live run is
        for url in args.nodes:
            check_url(url)
        if args.run_id is not None:
            check_name(args.run_id)
            try:  # held while cleaning: a resume started meanwhile is refused, not cleaned under
                lock = RunLock(args.run_id).acquire()
            except StoreError:
                raise StoreError(f"run {args.run_id} is running: stop it first (its own end removes what "
                                 "it made)") from None
            except OSError as exc:
                raise StoreError(f"run {args.run_id}'s lock cannot be taken in {exc.filename}: {exc.strerror}") from None
    try:
        _clean(args, lock)
    finally:
        if lock is not None:
            lock.release()


def _clean(args, lock):
    """clean's work: every run's objects but live ones' (this run's, whose lock it holds, too)."""
    from .measuring.cleanup import clean
    from .measuring.engine import connect
    from .runlock import is_live

    def keep(run):
        return not (lock is not None and run == args.run_id) and is_live(run)
    try:
        client = connect(timeout=10)
    except VoltoolsError as exc:
        print(f"voltools: note: {exc}; cleaning loop devices and files only", file=sys.stderr)
        client = None
    removed = clean(client, args.run_id, args.images, keep=keep)
    if args.nodes:
        from .orchestrators.nodes import clean_nodes
        clean_nodes(args.nodes, args.run_id, removed, keep=keep)
    for kind, names in vars(removed).items():
        for name in names if kind != "left" else ():
            print(f"removed {kind[:-1].replace('_', ' ')} {name}")
    print(f"{removed.total()} object(s) removed")
    if removed.left:
        raise VoltoolsError(f"{len(removed.left)} object(s) left: {removed.left[0]}")


COMMANDS = {"persist": cmd_persist, "predict": cmd_predict, "sweep": cmd_sweep, "parse-fio": cmd_parse_fio, "summary": cmd_summary, "report": cmd_report, "k8s": cmd_k8s,
            "doctor": cmd_doctor, "clean": cmd_clean, "compare": cmd_compare}

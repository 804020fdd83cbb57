"""The `voltools` command. The only module that prints or exits."""
import argparse
import signal
import sys

from .errors import UsageError, VoltoolsError

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
DEFAULTS = dict(bs="4k,16k,64k,256k,1m", blocks="1,16,64,256", rw="read,randread", direct="1",
                iodepth="1", repeat=3)


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line and exit status 2."""

    def error(self, message):
        raise UsageError(f"{message} (see '{self.prog} --help')")


def build_parser():
    parser = OneLineParser(prog="voltools", description="Measure container storage with fio and fit volume models.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    _add_sweep(sub)
    p = sub.add_parser("parse-fio", help="print fio JSON output files as CSV rows")
    p.add_argument("files", nargs="+", metavar="FILE")
    p = sub.add_parser("summary", help="print the per-target summary of a run")
    p.add_argument("--run-id", required=True)
    p.add_argument("--data-dir", default=None, help="folder holding runs (default data/raw)")
    _add_report(sub)
    sub.add_parser("doctor", help="what is here and what is missing")
    p = sub.add_parser("clean", help="remove every container, volume and loop device voltools made")
    p.add_argument("--run-id", default=None, help="only this run's objects")
    p.add_argument("--images", action="store_true", help="also remove the probe image")
    return parser


def _add_sweep(sub):
    p = sub.add_parser("sweep", help="measure read points on one or more targets")
    p.add_argument("--target", action="append", metavar="SPEC",
                   help="kind[:key=value,...]; kinds: local, tmpfs:size=, loop:fs=,size=, bind:path=, layer, host")
    p.add_argument("--bs", default=DEFAULTS["bs"], help="block sizes B, e.g. 4k,64k,1m")
    p.add_argument("--blocks", default=DEFAULTS["blocks"], help="block counts N, e.g. 1,16,256")
    p.add_argument("--rw", default=DEFAULTS["rw"], help="read, randread or both")
    p.add_argument("--direct", default=DEFAULTS["direct"], help="1 (O_DIRECT), 0 (buffered) or 0,1")
    p.add_argument("--iodepth", default=DEFAULTS["iodepth"], help="queue depths, e.g. 1 or 1,8")
    p.add_argument("--repeat", default=DEFAULTS["repeat"], help="repeats of every point")
    p.add_argument("--memory", default=None, help="memory limit of the probe containers, e.g. 256m")
    p.add_argument("--run-id", default=None, help="id of the run (default: UTC time + random)")
    p.add_argument("--data-dir", default=None, help="folder for runs (default data/raw)")
    p.add_argument("--image", default=None, help="use this local image (with fio on PATH) as the probe")
    p.add_argument("--batch", default=1, help="points per fio call (more is ~65 ms/point faster; a kill loses the call)")
    p.add_argument("--resume", metavar="RUN_ID", default=None,
                   help="carry on a stopped run with its own settings: skips finished points")


def _add_report(sub):
    p = sub.add_parser("report", help="render the capacity report of a run as HTML")
    p.add_argument("--run-id", required=True)
    p.add_argument("--dataset-size", default="40g", help="size of the dataset to plan for, e.g. 40g")
    p.add_argument("--bs", default="64k", help="block size the dataset is read in, e.g. 64k")
    p.add_argument("--objective", default="600", help="read-time objective in seconds")
    p.add_argument("--data-dir", default=None, help="folder holding runs (default data/raw)")
    p.add_argument("-o", "--output", default=None, help="HTML file (default reports/<run-id>.html)")


def main(argv=None):
    parser = build_parser()
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        args = parser.parse_args(argv)
        return COMMANDS[args.command](args) or 0
    except VoltoolsError as exc:
        if debug:
            raise
        print(f"voltools: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("voltools: interrupted; what it made was removed, finished points are kept", file=sys.stderr)
        return EXIT_INTERRUPTED


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def cmd_sweep(args):
    from tqdm import tqdm

    from .summary import target_summary
    run = _resumed(args) if args.resume else _started(args)
    with tqdm(total=run.plan.total_points(), unit="pt", file=sys.stderr, dynamic_ncols=True, leave=False) as bar:
        def progress(done, label):
            bar.set_description(label)
            bar.update(done)
        points = run.run(progress)
    print(f"run {run.run_id}: {len(points)} points in {run.store.path}")
    print(target_summary(points).to_string(index=False, float_format=lambda v: f"{v:.4g}"))


def _started(args):
    from .measure import start_sweep
    if not args.target:
        raise UsageError("sweep needs --target KIND[:key=value] (or --resume RUN_ID), see 'voltools sweep --help'")
    return start_sweep(args.target, args.bs, args.blocks, args.rw, args.direct, args.iodepth,
                       args.repeat, args.memory, args.run_id, args.data_dir, args.image, args.batch)


def _resumed(args):
    from .measure import resume_sweep
    if args.target or args.run_id:
        raise UsageError("--resume RUN_ID carries on a run with its own settings: give no --target or --run-id")
    return resume_sweep(args.resume, args.data_dir)


def cmd_parse_fio(args):
    from .fio import parse_many
    parse_many(args.files).to_csv(sys.stdout, index=False)


def cmd_summary(args):
    from .store import load_run
    from .summary import target_summary
    points = load_run(args.run_id, args.data_dir)
    print(target_summary(points).to_string(index=False, float_format=lambda v: f"{v:.4g}"))


def cmd_report(args):
    from .report import render
    out = render(args.run_id, args.output or f"reports/{args.run_id}.html", args.dataset_size,
                 args.bs, args.objective, args.data_dir)
    print(f"report: {out}")


def cmd_doctor(args):
    from .doctor import checks
    results = checks()
    for check in results:
        mark = "ok     " if check.ok else "MISSING"
        fix = f"  -> {check.fix}" if check.fix and not check.ok else ""
        print(f"{mark} {check.name:14} {check.detail}{fix}")
    return 0 if all(c.ok for c in results) else 1


def cmd_clean(args):
    from .cleanup import clean
    from .engine import connect
    try:
        client = connect(timeout=10)
    except VoltoolsError as exc:
        print(f"voltools: note: {exc}; cleaning loop devices and files only", file=sys.stderr)
        client = None
    removed = clean(client, args.run_id, args.images)
    for kind, names in vars(removed).items():
        for name in names:
            print(f"removed {kind[:-1].replace('_', ' ')} {name}")
    print(f"{removed.total()} object(s) removed")


COMMANDS = {"sweep": cmd_sweep, "parse-fio": cmd_parse_fio, "summary": cmd_summary, "report": cmd_report,
            "doctor": cmd_doctor, "clean": cmd_clean}

if __name__ == "__main__":
    sys.exit(main())

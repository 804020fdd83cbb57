"""`python -m voltools.measuring.pyfio`: the python reader behind fio's command-line shape, for
hosts without fio.

    python -m voltools.measuring.pyfio write PATH SIZE [PATH SIZE ...]
    python -m voltools.measuring.pyfio read --job PATH,RW,BS,BLOCKS,DIRECT [--job ...]

`write` lays out files of random bytes, fsynced; `read` runs voltools.measuring.pyreader.read_blocks
for each job, one after another, and prints what fio --output-format=json would (the fio 3 fields
that voltools.measuring.fio.parse reads), so a sweep stores the same rows whichever reader measured.
"""
import argparse
import json
import os
import sys

from ..errors import VoltoolsError
from ..points import LATENCY_PERCENTILES
from .pyreader import read_blocks

CHUNK = 1 << 20
_PERCENTILE_KEYS = {name: f"{q:.6f}" for name, q in LATENCY_PERCENTILES.items()}  # fio's keys: "99.900000"


def write_file(path, size):
    """Write `size` random bytes to `path` and fsync it."""
    with open(path, "wb") as handle:
        left = size
        while left:
            left -= handle.write(os.urandom(min(CHUNK, left)))
        handle.flush()
        os.fsync(handle.fileno())


def fio_job(row, index, path):
    """One entry of fio's `jobs` list from a pyreader row."""
    lat = {"mean": row["lat_mean_ns"],
           "percentile": {key: row[f"lat_{name}_ns"] for name, key in _PERCENTILE_KEYS.items()}}
    return {"jobname": f"p{index}", "error": row["error"],
            "job options": {"name": f"p{index}", "filename": path, "rw": row["rw"],
                            "bs": str(row["bs_bytes"]), "ioengine": row["ioengine"], "iodepth": "1",
                            "direct": str(row["direct"])},
            "read": {"io_bytes": row["io_bytes"], "bw_bytes": row["bw_bytes"], "iops": row["iops"],
                     "total_ios": row["total_ios"], "runtime": row["runtime_ms"],
                     "clat_ns": lat, "lat_ns": lat},
            "direct_fallback": row["direct_fallback"], "fallback_reason": row["fallback_reason"]}


def read_jobs(jobs):
    """fio-shaped output for jobs given as (path, rw, bs, blocks, direct)."""
    from ..provenance import voltools_version
    out = [fio_job(read_blocks(path, bs, blocks, rw, direct), i, path)
           for i, (path, rw, bs, blocks, direct) in enumerate(jobs)]
    return {"fio version": f"python-{voltools_version()}", "jobs": out}


def _job(text):
    path, rw, bs, blocks, direct = text.rsplit(",", 4)
    return path, rw, int(bs), int(blocks), int(direct)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m voltools.measuring.pyfio")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("write").add_argument("pairs", nargs="+", metavar="PATH SIZE")
    sub.add_parser("read").add_argument("--job", action="append", type=_job, required=True)
    args = parser.parse_args(argv)
    try:
        if args.command == "write":
            for path, size in zip(args.pairs[::2], args.pairs[1::2]):
                write_file(path, int(size))
        else:
            print(json.dumps(read_jobs(args.job), indent=1))
    except (VoltoolsError, OSError) as exc:
        print(f"pyfio: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A target kind that lives only in the tests: a tmpfs volume of the local driver with an inode cap
(`toy[:size=...,inodes=...]`). It shows that a new kind is one module and one `register` call:
nothing of voltools is edited for it. `registered(monkeypatch)` adds it for one test."""
from voltools.errors import TargetError, UsageError
from voltools.measuring import kinds
from voltools.measuring.kinds.base import VolumeKind


class ToyKind(VolumeKind):
    name = "toy"
    help = "(a tmpfs volume with at most inodes= files: a test's kind)"
    options = {"size": "32m", "inodes": "1024"}
    sized = True

    def check(self, spec, text):
        super().check(spec, text)
        inodes = spec.option("inodes")
        if not (inodes.isascii() and inodes.isdigit() and int(inodes) >= 16):
            raise UsageError(f"target {text!r}: inodes {inodes!r} is not a whole number of at least 16")

    def preflight(self, specs, reader):
        with open("/proc/filesystems") as handle:
            if "tmpfs" not in handle.read().split():
                raise TargetError("this kernel has no tmpfs: drop the toy target")

    def volume_options(self, spec, device=""):
        return {"type": "tmpfs", "device": "tmpfs", "o": f"size={spec.size_bytes},nr_inodes={spec.option('inodes')}"}


def registered(monkeypatch, cls=ToyKind):
    """Register `cls` until the test ends (the registry is put back as it was); return its kind object."""
    kinds.every()  # the built-in kinds register on first use: into the registry that stays
    monkeypatch.setattr(kinds, "_REGISTRY", dict(kinds._REGISTRY))
    kinds.register(cls)
    return kinds.lookup(cls.name)

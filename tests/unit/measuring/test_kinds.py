"""voltools.measuring.kinds: a kind registered from outside voltools (tests/toykind.py) is parsed,
planned, shown in the CLI help and checked by the docker backend like a built-in one; the
built-in kinds answer what the rest of voltools asks them."""
import json
import re

import pytest
from toykind import ToyKind, registered

from voltools.cli import main
from voltools.errors import TargetError, UsageError
from voltools.measuring import kinds
from voltools.measuring.plan import make_plan
from voltools.measuring.targets import parse_target
from voltools.orchestrators.docker import DockerOrchestrator, preflight
from voltools.orchestrators.swarm import SwarmOrchestrator

TINY = dict(bs="4k", blocks="1,4", rw="read", repeat=1)


def test_a_registered_kind_parses_with_its_options_defaults_and_checks(monkeypatch):
    registered(monkeypatch)
    spec = parse_target("toy:inodes=2048")
    assert (spec.kind, spec.name, spec.size_bytes, spec.in_docker, spec.has_reader) == ("toy", "toy", 32 << 20, True, True)
    assert json.loads(spec.describe()) == {"inodes": "2048", "size": "32m"}
    assert spec.target_kind.volume_options(spec) == {"type": "tmpfs", "device": "tmpfs",
                                                     "o": f"size={32 << 20},nr_inodes=2048"}
    for text, needle in [("toy:inodes=few", "inodes 'few' is not a whole number"), ("toy:size=0", "at least 1 byte"),
                         ("toy:fs=ext4", "not key=value with a key in ['inodes', 'name', 'size']")]:
        with pytest.raises(UsageError, match=re.escape(needle)):
            parse_target(text)


def test_an_unknown_kind_names_every_registered_one(monkeypatch):
    registered(monkeypatch)
    with pytest.raises(UsageError, match=r"target 'nfs:x=1': unknown kind 'nfs'; accepted: local, tmpfs, loop, "
                                         r"bind, layer, host, toy$"):
        parse_target("nfs:x=1")


def test_the_registry_is_as_it_was_after_a_test_that_registered_a_kind():
    assert kinds.names() == ["local", "tmpfs", "loop", "bind", "layer", "host"]


def test_the_plan_takes_a_registered_kind_and_checks_its_size(monkeypatch):
    registered(monkeypatch)
    plan = make_plan(["toy:size=16m", "toy:name=toy2"], **TINY)
    assert [s.name for s in plan.targets] == ["toy", "toy2"] and plan.total_points() == 4
    assert [len(call) for call in plan.batches("toy")] == [1, 1]
    with pytest.raises(UsageError, match="target toy holds 16 MiB but the sweep lays out"):
        make_plan(["toy:size=16m"], bs="1m", blocks="16", rw="read", repeat=1)


def test_the_cli_help_lists_a_registered_kind_with_its_usage_and_help(monkeypatch, capsys):
    registered(monkeypatch)
    with pytest.raises(SystemExit):
        main(["sweep", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "toy[:size=...,inodes=...] (a tmpfs volume with at most inodes= files: a test's kind)" in text
    assert "bind:path=... (a folder voltools makes below your path, bind-mounted)" in text


def test_the_docker_backend_accepts_and_preflights_a_registered_kind(monkeypatch, isolated_state):
    registered(monkeypatch)
    plan = make_plan(["toy"], **TINY)
    DockerOrchestrator().check(plan, "r1")
    preflight(plan)

    class NoToy(ToyKind):
        name = "notoy"

        def preflight(self, specs, reader):
            raise TargetError(f"{len(specs)} notoy target(s): this host has no toys")

    registered(monkeypatch, NoToy)
    with pytest.raises(TargetError, match="2 notoy target"):
        preflight(make_plan(["notoy", "notoy:name=b", "toy"], **TINY))


def test_swarm_refuses_a_kind_that_does_not_name_it(monkeypatch):
    registered(monkeypatch)
    with pytest.raises(UsageError, match="target 'toy' cannot run on swarm: accepted kinds are local, tmpfs$"):
        SwarmOrchestrator().check(make_plan(["toy"], **TINY), "r1")


@pytest.mark.parametrize("name,sized,in_docker,has_reader,host_folder,orchestrators", [
    ("local", False, True, True, False, ("docker", "swarm")), ("tmpfs", True, True, True, False, ("docker", "swarm")),
    ("loop", True, True, True, False, ("docker",)), ("bind", False, True, True, True, ("docker",)),
    ("layer", False, True, False, False, ("docker",)), ("host", False, False, False, True, ("docker",)),
])
def test_the_builtin_kinds_say_what_they_are(name, sized, in_docker, has_reader, host_folder, orchestrators):
    kind = kinds.lookup(name)
    assert (kind.name, kind.sized, kind.in_docker, kind.has_reader, kind.host_folder, kind.orchestrators) == (
        name, sized, in_docker, has_reader, host_folder, orchestrators)
    assert kind.help.startswith("(") and "\n" not in kind.help


def test_usage_shows_required_options_bare_and_optional_ones_in_brackets():
    assert [kinds.lookup(n).usage() for n in kinds.names()] == [
        "local", "tmpfs[:size=...]", "loop[:fs=...,size=...]", "bind:path=...", "layer", "host[:path=...]"]


def test_default_names_follow_the_one_rule_the_analysis_side_uses():
    assert kinds.lookup("loop").default_name({}) == "loop-ext4"
    assert kinds.lookup("loop").default_name({"fs": "xfs"}) == "loop-xfs"
    assert kinds.lookup("tmpfs").default_name({"size": "1g"}) == "tmpfs"

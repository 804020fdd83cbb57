"""Packaging: environment.yml and pyproject.toml agree; the report notebook is package data, so a
voltools installed (not editable) into a fresh venv renders a report from any folder; kubernetes
is an extra, named when it is missing."""
import re
import shutil
import site
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from repo import ROOT

CONDA_NAMES = {"docker-py": "docker", "python-kubernetes": "kubernetes"}


def _name(requirement):
    return re.split(r"[<>=!~ \[]", requirement.strip(), maxsplit=1)[0].lower()


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    wanted = {_name(r) for r in project["dependencies"] + extras["dev"] + extras["k8s"]}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = {CONDA_NAMES.get(_name(d), _name(d)) for d in env["dependencies"] if isinstance(d, str)}
    conda -= {"python", "pip"}
    assert conda == wanted
    pip_part = [d for d in env["dependencies"] if isinstance(d, dict)][0]["pip"]
    assert pip_part == ["-e ."]


def test_python_version_agrees():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "python=3.11" in env["dependencies"]
    assert tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"] == ">=3.11"


def test_version_is_one_figure_everywhere():
    import subprocess
    import sys

    import voltools
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    out = subprocess.run([sys.executable, "-m", "voltools", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == f"voltools {version}"
    assert voltools.__version__ in (version, "unknown")
    assert f"## {version} " in (ROOT / "CHANGELOG.md").read_text()


def test_license_is_spdx_with_its_file():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")


def test_kubernetes_is_an_extra_named_when_missing(monkeypatch, tmp_path):
    from voltools.api import sweep
    from voltools.errors import EngineError
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "kubernetes" not in {_name(r) for r in project["dependencies"]}
    assert [_name(r) for r in project["optional-dependencies"]["k8s"]] == ["kubernetes"]
    monkeypatch.setitem(sys.modules, "kubernetes", None)  # as if it were not installed
    with pytest.raises(EngineError, match=r"pip install 'voltools\[k8s\]'") as info:
        sweep(orchestrator="k8s", storage_class="standard", image="r/p:1", bs="4k", blocks="1",
              data_dir=tmp_path / "raw")
    assert "\n" not in str(info.value) and not (tmp_path / "raw").exists()


def test_the_report_notebook_people_open_is_the_one_the_package_ships():
    shipped = ROOT / "voltools" / "notebooks" / "2.0-capacity-report.ipynb"
    assert (ROOT / "notebooks" / "2.0-capacity-report.ipynb").resolve() == shipped.resolve()
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert package_data == {"voltools": ["notebooks/*.ipynb"]}


def test_pip_install_into_a_fresh_venv_renders_the_report_from_any_folder(tmp_path):
    """Not editable: the package is built from a copy of the checkout and installed into a new venv,
    which gets the other dependencies from this interpreter's site-packages (a .pth file, and a link
    to nbconvert's templates); the build
    backend (setuptools) comes from the package index. Never skipped: CI must run it."""
    src, venv, elsewhere = tmp_path / "src", tmp_path / "venv", tmp_path / "elsewhere"
    shutil.copytree(ROOT, src, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", ".venv", "data", "build", "reports", "*.egg-info", "__pycache__", ".pytest_cache"))
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    (next(venv.glob("lib/python3*/site-packages")) / "deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    (venv / "share" / "jupyter").mkdir(parents=True)  # nbconvert's templates, data files of its install
    (venv / "share" / "jupyter" / "nbconvert").symlink_to(Path(sys.prefix) / "share" / "jupyter" / "nbconvert")
    env = {"PATH": f"{venv}/bin:/usr/bin:/bin", "HOME": str(tmp_path)}
    pip = subprocess.run([venv / "bin" / "python", "-m", "pip", "install", "-q", "--no-deps", str(src)],
                         capture_output=True, text=True, env=env, cwd=tmp_path)
    assert pip.returncode == 0, pip.stderr
    elsewhere.mkdir()
    where = subprocess.run([venv / "bin" / "python", "-c", "import voltools; print(voltools.__file__)"],
                           capture_output=True, text=True, env=env, cwd=elsewhere, check=True).stdout
    assert where.startswith(str(venv)), where
    out = subprocess.run([venv / "bin" / "voltools", "report", "--run-id", "sample", "--data-dir",
                          str(ROOT / "data" / "raw"), "-o", str(elsewhere / "r.html")],
                         capture_output=True, text=True, env=env, cwd=elsewhere)
    assert out.returncode == 0, out.stderr
    html = (elsewhere / "r.html").read_text()
    assert "voltools capacity report" in html and "At a glance" in html and "data:image/png;base64," in html

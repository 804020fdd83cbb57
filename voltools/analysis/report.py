"""The capacity report: papermill runs the report notebook with the caller's parameters, nbconvert
renders it as one self-contained HTML page without code.

The notebook is package data (voltools/notebooks/2.0-capacity-report.ipynb, found with
importlib.resources, so an installed voltools renders reports from any folder); the checkout's
notebooks/2.0-capacity-report.ipynb is a link to it, for people and nbval."""
from __future__ import annotations

import logging
import math
import os
import re
import tempfile
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

from ..config import raw_dir, system_folder
from ..errors import ReportError, UsageError, first_line
from ..store import RunStore, load_persist
from ..units import parse_size

NOTEBOOK = "2.0-capacity-report.ipynb"  # in the package's notebooks/ folder
KERNEL = "python3"
CELL_TIMEOUT_S = 600
# The lab template without the CDN scripts (require.js, MathJax, Mermaid) the report does not use,
# so the page opens offline and loads nothing from elsewhere; a readable column width.
_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block extra_css -%}
<style>
  body { max-width: 1100px; margin: 0 auto; }
  .jp-RenderedHTMLCommon table { font-size: 13px; }
</style>
{%- endblock extra_css -%}
"""


DEFAULT_QUESTION = ("40g", "64k")
NAME_MAX, PATH_MAX = 255, 4096  # Linux: bytes in one name, in a whole path


def render(run_id, output, dataset_size=None, bs=None, read_time_objective_s=600.0,
           data_dir=None, baseline_run=None, persist_run=None) -> Path:
    """Execute the capacity report notebook for `run_id` and write it as HTML to `output`.

    The dataset size and block size default to the run's own question (`sweep --question`), else
    40g@64k. With `baseline_run` (a run in the same data_dir) the report compares the run with it
    (analysis.compare); with `persist_run` (a `voltools persist` run there) it adds the persistence
    checks and the move-time fits. Everything is checked before the notebook runs (`parameters`,
    `output_path`); a notebook that fails raises ReportError naming the error it raised. Returns
    the path written."""
    params = parameters(run_id, dataset_size, bs, read_time_objective_s, data_dir, baseline_run, persist_run)
    return write(params, output_path(output))


def parameters(run_id, dataset_size=None, bs=None, read_time_objective_s=600.0, data_dir=None,
               baseline_run=None, persist_run=None) -> dict:
    """The notebook's parameters, every input checked and nothing made: sizes and the objective
    (UsageError), the run, baseline run and persist run (StoreError when unknown or unreadable)."""
    for value, what in ((dataset_size, "dataset size"), (bs, "block size")):
        if value is not None:
            parse_size(value, what)
    objective = _objective(read_time_objective_s)
    root = Path(data_dir or raw_dir()).resolve()
    asked = RunStore.open(run_id, root).read_meta().get("question") or {}
    if baseline_run:
        RunStore.open(baseline_run, root)
    if persist_run:
        load_persist(persist_run, root)
    return {"run_id": str(run_id), "data_dir": str(root),
            "dataset_size": str(dataset_size or asked.get("dataset_bytes") or DEFAULT_QUESTION[0]),
            "bs": str(bs or asked.get("bs_bytes") or DEFAULT_QUESTION[1]),
            "read_time_objective_s": objective,
            "baseline_run": str(baseline_run or ""), "persist_run": str(persist_run or "")}


def output_path(output) -> Path:
    """`output` as the absolute path the report will be written to, checked, nothing made.

    Refused (UsageError naming it): '' or '-'; a folder ('/', a name ending in '/', '.' or '..',
    an existing folder); a name longer than a file system takes; a path through a file, or
    through a link that leads nowhere or in a loop; a path in a system folder or voltools' state
    (config.system_folder); an existing file that is not an .html/.htm page (a report replaces a
    page, never anything else); a file or nearest existing folder voltools may not write in."""
    text = str(output)
    if text in ("", "-", ".", "..") or text.endswith(("/", "/.", "/..")):
        raise _bad_output(text, "must be a file path, e.g. reports/run.html")
    try:
        out = Path(os.path.abspath(text))  # '..' taken lexically, as the shell does
        parts = [os.fsencode(part) for part in out.parts]
        if any(len(part) > NAME_MAX for part in parts) or len(os.fsencode(str(out))) >= PATH_MAX:
            raise _bad_output(text, f"has a name longer than a file system takes ({NAME_MAX} bytes a name)")
        _check_folders(text, out)
        _check_file(text, out)
    except (ValueError, OSError) as exc:  # a NUL byte, a file system that cannot say
        if isinstance(exc, UsageError):
            raise
        raise _bad_output(text, f"is not a usable path: {first_line(exc, None)}") from None
    return out


def _check_folders(text, out):
    """The nearest existing folder of `out` is a real folder voltools may write in, not a system one."""
    folder = next(p for p in out.parents if os.path.lexists(p))
    if os.path.islink(folder) and not os.path.exists(folder):
        raise _bad_output(text, f"goes through {folder}, a link that leads nowhere or in a loop")
    if not folder.is_dir():
        raise _bad_output(text, f"goes through {folder}, which is not a folder")
    system = system_folder(os.path.realpath(out))
    if system is not None:
        raise _bad_output(text, f"lies in {system}, a folder voltools never writes in")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise _bad_output(text, f"is in {folder}, a folder voltools may not write in")


def _check_file(text, out):
    """An existing `out` is an .html/.htm page voltools may replace."""
    if not os.path.lexists(out):
        return
    if os.path.islink(out) and not os.path.exists(out):
        raise _bad_output(text, "is a link that leads nowhere or in a loop")
    if out.is_dir():
        raise _bad_output(text, "is a folder: give a file path, e.g. reports/run.html")
    if not out.is_file() or out.suffix.lower() not in (".html", ".htm"):
        raise _bad_output(text, "exists and is not an .html page: a report replaces only a page")
    if not os.access(out, os.W_OK):
        raise _bad_output(text, "is a page voltools may not write")


def _bad_output(text, why):
    return UsageError(f"report output {text!r} {why}")


def write(params, out) -> Path:
    """Run the notebook with checked `params` and write its HTML to `out` (its folders made)."""
    with tempfile.TemporaryDirectory(prefix="voltools-report-") as tmp:
        executed = _execute(params, Path(tmp) / "report.ipynb")
    return save(to_html(executed, title=f"voltools capacity report: {params['run_id']}"), out)


def save(html, out) -> Path:
    """Write the page `html` to `out` (a path output_path accepted), its folders made."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(html, encoding="utf-8")
    except OSError as exc:
        raise ReportError(f"cannot write the report to {out}: {exc.strerror or exc}") from None
    return out


def _objective(value):
    """Seconds > 0 from a number or plain ASCII decimal text ('600', '1.5e3'; not '６00' or '6_00')."""
    text_ok = not isinstance(value, str) or re.fullmatch(r"\s*[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?\s*", value)
    try:
        seconds = float(value) if text_ok else math.nan
    except (TypeError, ValueError):
        seconds = math.nan
    if not math.isfinite(seconds) or seconds <= 0:
        raise UsageError(f"read-time objective {value!r} must be a number of seconds > 0, e.g. 600")
    return seconds


@contextmanager
def _quiet(name, level=logging.ERROR):
    logger = logging.getLogger(name)
    old = logger.level
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(old)


def _execute(params, path):
    """Run the report notebook with papermill; return the executed notebook node."""
    with report_notebook() as notebook:
        return _papermill(str(notebook), path, params)


def _papermill(notebook, path, params):
    """papermill.execute_notebook, its errors as one-line ReportErrors, the kernel's stderr in a log."""
    import papermill
    from papermill.exceptions import PapermillExecutionError
    log = path.with_name("kernel.log")
    try:
        with _quiet("papermill"), open(log, "wb") as stderr:
            return papermill.execute_notebook(
                notebook, str(path), parameters=params, kernel_name=KERNEL,
                cwd=str(path.parent), progress_bar=False, log_output=False,
                execution_timeout=CELL_TIMEOUT_S, kernel_manager_class=_kernel_manager(stderr))
    except PapermillExecutionError as exc:
        raise ReportError(f"report notebook failed in cell {exc.exec_count}: "
                          + _one_line(exc.ename, exc.evalue)) from None
    except Exception as exc:  # kernel missing or dead, timeout, unreadable notebook
        tail = _last_line(log)
        raise ReportError("report notebook could not run: " + _one_line(type(exc).__name__, exc)
                          + (f" (kernel: {tail})" if tail else "")) from None


@contextmanager
def report_notebook():
    """The report notebook's path (package data), for as long as the block runs."""
    source = resources.files("voltools") / "notebooks" / NOTEBOOK
    if not source.is_file():
        raise ReportError(f"report notebook {NOTEBOOK} is missing from the voltools package: reinstall voltools")
    with resources.as_file(source) as path:
        yield path


def _one_line(name, message):
    line = first_line(message, None)
    return f"{name}: {line}" if line else str(name)


def _last_line(path):
    try:
        lines = Path(path).read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return lines[-1] if lines else ""


def _kernel_manager(stderr):
    """A kernel manager class whose kernels write their stderr to `stderr`, not the caller's."""
    from jupyter_client.manager import AsyncKernelManager

    class QuietKernelManager(AsyncKernelManager):
        async def start_kernel(self, **kw):
            kw.setdefault("stderr", stderr)
            return await super().start_kernel(**kw)

    return QuietKernelManager


def to_html(nb, title):
    """One HTML page of a notebook: outputs and Markdown only, figures embedded as base64 PNG."""
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter
    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True, template_name="lab",
                            extra_loaders=[DictLoader({"voltools-report.html.j2": _TEMPLATE})],
                            template_file="voltools-report.html.j2")
    nb.metadata["title"] = title
    html, _ = exporter.from_notebook_node(nb)
    return html

"""Plots return labelled Axes with one artist set per fit and one colour per target."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402

from voltools.analysis import plots  # noqa: E402
from voltools.analysis.models import fit_groups, fit_size_groups  # noqa: E402

NS = (1, 4, 16, 64, 256, 1024)
BS = (4096, 16384, 65536, 262144, 1048576)


def frame(targets=("tmpfs", "host"), repeats=3, seed=5):
    rng = np.random.default_rng(seed)
    parts = []
    for i, target in enumerate(targets):
        n, b, r = (a.ravel() for a in np.meshgrid(NS, BS, range(repeats), indexing="ij"))
        beta = 1.5e9 * (i + 1)
        t = (2e-4 + n * (8e-5 + b / beta)) * (1 + 0.03 * rng.standard_normal(n.size))
        lat = (8e-5 + b / beta) * 1e9
        parts.append(pd.DataFrame(dict(
            target=target, rw="randread", direct=1, iodepth=1, bs_bytes=b, blocks=n,
            size_bytes=n * b, allocated_bytes=n * b + 4096, repeat=r, read_time_s=t, error=0,
            lat_p50_ns=lat, lat_p99_ns=2 * lat, lat_p999_ns=3 * lat)))
    return pd.concat(parts, ignore_index=True)


@pytest.fixture(scope="module")
def df():
    return frame()


@pytest.fixture(scope="module")
def fits(df):
    return fit_groups(df)


@pytest.fixture(autouse=True)
def no_show_and_close(monkeypatch):
    monkeypatch.setattr(plt, "show", lambda *a, **k: pytest.fail("plots must not call plt.show"))
    yield
    plt.close("all")


def labelled(ax):
    ax.figure.canvas.draw()
    assert isinstance(ax, Axes)
    assert ax.get_xlabel() and ax.get_ylabel()
    return [t.get_text() for t in ax.get_xticklabels() if t.get_text()]


def colour_of(artist):
    if hasattr(artist, "get_edgecolor") and not hasattr(artist, "get_xdata"):
        return to_hex(artist.get_edgecolor()[0])  # points of a randread are hollow: the edge
    return to_hex(artist.get_color())


def test_target_colors_are_okabe_ito_in_sorted_order():
    assert plots.target_colors(["tmpfs", "host", "local", "host"]) == {
        "host": "#E69F00", "local": "#56B4E9", "tmpfs": "#009E73"}
    many = plots.target_colors([f"t{i}" for i in range(10)])
    assert many["t8"] == many["t0"]  # cycles past the 8 colours


def test_read_time_vs_blocks(df, fits):
    ax = plots.read_time_vs_blocks(df, fits, bs_bytes=65536)
    assert len(ax.lines) == 2            # one fitted line per fit
    assert len(ax.collections) == 4      # points + prediction band per fit
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert "64 KiB" in ax.get_title()
    assert len(ax.collections[0].get_offsets()) == len(NS)  # medians per N, not 3 repeats
    assert "(s)" in ax.get_ylabel()
    assert "1024" in labelled(ax)


def test_read_time_default_block_size_is_the_median_measured(df, fits):
    assert "64 KiB" in plots.read_time_vs_blocks(df, fits).get_title()


def test_per_block_time_vs_bs(df, fits):
    _, ax = plt.subplots()
    assert plots.per_block_time_vs_bs(df, fits, ax=ax) is ax
    assert len(ax.lines) == 2 and len(ax.collections) == 2
    assert "µs" in ax.get_ylabel()
    ticks = labelled(ax)
    assert "4 KiB" in ticks and "1 MiB" in ticks
    # points sit at the largest N: T_d / N is close to alpha + B / beta
    y = ax.collections[0].get_offsets()[:, 1]
    assert y.min() == pytest.approx(80 + 4096 / 3e9 * 1e6, rel=0.1)


def test_throughput_vs_bs(df, fits):
    ax = plots.throughput_vs_bs(df, fits)
    assert len(ax.lines) == 6            # per fit: curve, beta asymptote, B_half marker
    assert len(ax.collections) == 2
    assert sum(line.get_linestyle() == "--" for line in ax.lines) == 2
    markers = [line for line in ax.lines if line.get_marker() == "D"]
    fit = fits[("tmpfs", "randread", 1, 1, 1)]
    tmpfs_marker = [m for m in markers if "tmpfs" in m.get_label()][0]
    assert tmpfs_marker.get_xdata()[0] == pytest.approx(fit.b_half_bytes)
    assert tmpfs_marker.get_ydata()[0] == pytest.approx(fit.beta_bytes_per_s / 2 / 2**20)
    assert "MiB/s" in ax.get_ylabel()
    assert "KiB" in " ".join(labelled(ax))


def test_latency_percentiles_vs_bs_one_panel_per_percentile(df):
    axes = plots.latency_percentiles_vs_bs(df)
    assert [ax.get_title().split()[0] for ax in axes] == ["p50", "p99", "p99.9"]
    assert all(len(ax.lines) == 2 for ax in axes)            # one line per target in each
    assert "µs" in axes[0].get_ylabel()
    p50 = [line for line in axes[0].lines if line.get_label() == "host randread p50"][0]
    assert p50.get_ydata()[0] == pytest.approx((8e-5 + 4096 / 3e9) * 1e6)
    assert {line.get_marker() for line in axes[0].lines} == {"o", "s"}  # a marker per target
    assert len(axes[2].lines[0].get_xdata()) == len(BS)     # N = 1024: p99.9 supported at every B
    labelled(axes[0])


def test_latency_panels_leave_out_percentiles_too_few_ios_support(df):
    axes = plots.latency_percentiles_vs_bs(df[df["blocks"] <= 256])
    assert len(axes[1].lines[0].get_xdata()) == len(BS) and len(axes[2].lines[0].get_xdata()) == 0


def test_allocated_vs_size(df):
    size_fits = fit_size_groups(df)
    ax = plots.allocated_vs_size(df, size_fits)
    assert len(ax.collections) == 2      # points per target
    assert len(ax.lines) == 3            # fitted line per target + allocated = size
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert any("MiB" in t for t in labelled(ax))
    assert len(plots.allocated_vs_size(df).lines) == 1


def test_residuals(fits):
    ax = plots.residuals(fits)
    assert len(ax.collections) == 2 and len(ax.lines) == 1
    assert len(ax.collections[0].get_offsets()) == 90
    assert "%" in ax.get_ylabel()
    labelled(ax)
    agg = plots.residuals(fits, max_points=10)
    assert len(agg.collections[0].get_offsets()) == len(np.unique(np.multiply.outer(NS, BS)))
    assert "medians" in agg.get_title()


def test_colours_are_the_same_target_in_every_plot(df, fits):
    colours = plots.target_colors(df["target"])
    a = plots.read_time_vs_blocks(df, fits)
    b = plots.throughput_vs_bs(df, fits)
    for target in ("host", "tmpfs"):
        scatter = [c for c in a.collections if c.get_label() == f"{target} randread"][0]
        line = [ln for ln in b.lines if ln.get_label() == f"{target} randread fit"][0]
        assert colour_of(scatter) == colour_of(line) == colours[target].lower()


def test_large_frames_are_drawn_as_medians():
    big = frame(targets=("tmpfs", "host"), repeats=300)
    fits = fit_groups(big)
    ax = plots.read_time_vs_blocks(big, fits)
    assert sum(len(c.get_offsets()) for c in ax.collections[::2]) == 2 * len(NS)
    ax = plots.throughput_vs_bs(big, fits)
    assert sum(len(c.get_offsets()) for c in ax.collections) == 2 * len(BS)


# ---------------------------------------------------------------- the committed sample

def _marker_name(collection):
    """The marker of a scatter: its path compared with each of TARGET_MARKERS'."""
    from matplotlib.markers import MarkerStyle
    path = collection.get_paths()[0]
    for m in plots.TARGET_MARKERS:
        ref = MarkerStyle(m).get_path().transformed(MarkerStyle(m).get_transform())
        if np.allclose(path.vertices.shape, ref.vertices.shape) and np.allclose(path.vertices, ref.vertices):
            return m
    return None


@pytest.fixture(scope="module")
def sample():
    from repo import RAW
    from voltools.store import load_run
    points = load_run("sample", RAW)
    return points, fit_groups(points, on_error="skip")


def test_every_sample_plot_gives_each_target_its_own_colour_and_marker(sample):
    points, fits = sample
    targets = sorted(points["target"].unique())
    for ax in (plots.read_time_vs_blocks(points, fits, bs_bytes=65536), plots.throughput_vs_bs(points, fits),
               plots.per_block_time_vs_bs(points, fits), plots.residuals(fits)):
        seen = {}
        for c in ax.collections:
            name = c.get_label().split()[0]
            if name in targets and len(c.get_offsets()):
                seen.setdefault(name, set()).add((colour_of(c), _marker_name(c)))
        assert sorted(seen) == targets, ax.get_title()
        pairs = [next(iter(v)) for v in seen.values()]
        assert all(len(v) == 1 for v in seen.values())          # one look per target
        assert len({c for c, _ in pairs}) == len(targets)       # distinct colours
        assert len({m for _, m in pairs}) == len(targets)       # AND distinct markers
    legend = {t.get_text() for t in plots.throughput_vs_bs(points, fits).get_legend().get_texts()}
    assert set(targets) | {"read", "randread"} <= legend


def test_read_modes_are_line_styles_and_fill(sample):
    points, fits = sample
    ax = plots.read_time_vs_blocks(points, fits, bs_bytes=65536)
    styles = {ln.get_label().split()[1]: ln.get_linestyle() for ln in ax.lines if ln.get_label().endswith(" fit")}
    assert styles == {"read": "-", "randread": "-."}
    res = plots.residuals(fits)  # no lines there: the fill tells the read modes apart
    hollow = {c.get_label().split()[1]: len(c.get_facecolor()) == 0 or c.get_facecolor()[0][3] == 0
              for c in res.collections if c.get_label().split()[0] == "host"}
    assert hollow == {"read": False, "randread": True}
    axes = plots.latency_percentiles_vs_bs(points)
    assert {ln.get_linestyle() for ln in axes[0].lines} == {"-", "-."}
    assert len({(ln.get_color(), ln.get_marker()) for ln in axes[0].lines}) == 4


def test_the_run_ratio_plot_marks_one_and_the_gate():
    table = pd.DataFrame({"target": ["tmpfs", "host"], "rw": ["read", "read"], "dataset_bytes": [2**26] * 2,
                          "bs_bytes": [65536] * 2, "ratio": [1.02, 24.1], "ratio_low": [0.9, 15.6],
                          "ratio_high": [1.1, 37.3], "verdict": ["no detectable change", "slower"],
                          "interval_covers": ["within-run noise only", "between runs"]})
    ax = plots.run_ratios(table, fail_if_slower=5)
    xs = sorted(ln.get_xdata()[0] for ln in ax.lines if len(ln.get_xdata()) == 2 and ln.get_xdata()[0] == ln.get_xdata()[1])
    assert xs == pytest.approx([1.0, 1.05])
    assert ax.get_xscale() == "log" and "64 MiB in 64 KiB blocks" in ax.get_title()
    assert [t.get_text().strip() for t in ax.texts] == ["no detectable change (within-run noise only)",
                                                        "slower"]  # tmpfs (a run of one round), host
    labelled(ax)

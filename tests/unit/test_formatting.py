"""voltools.formatting: significant figures, binary units, durations, shares."""
import math

import numpy as np
import pandas as pd
import pytest

from voltools import formatting as fmt

GIB, MIB, KIB = 1024**3, 1024**2, 1024


@pytest.mark.parametrize("value, text", [
    (1489.65, "1490"), (0.023344, "0.0233"), (59.5256, "59.5"), (999.6, "1000"), (1.0, "1.00"),
    (-0.5, "-0.500"), (0, "0"), (math.nan, "–"), (None, "–"), (math.inf, "∞"),
    (1234567.0, "1.23e+06"), (0.00012345, "1.23e-04")])
def test_sig_rounds_to_three_significant_figures(value, text):
    assert fmt.sig(value) == text


def test_sig_trim_drops_trailing_zeros():
    assert fmt.sig(40.0, trim=True) == "40"
    assert fmt.sig(1.5, trim=True) == "1.5"


@pytest.mark.parametrize("value, text", [
    (40 * GIB, "40 GiB"), (73189, "71.5 KiB"), (512, "512 B"), (1020702720, "973 MiB"),
    (3 * 1024**4, "3 TiB"), (math.nan, "–")])
def test_size_text_uses_binary_units(value, text):
    assert fmt.format_bytes(value) == text


def test_rate_text():
    assert fmt.rate_text(1.5 * GIB) == "1.5 GiB/s"
    assert fmt.rate_text(712 * MIB) == "712 MiB/s"


@pytest.mark.parametrize("seconds, text", [
    (46.2e-6, "46.2 µs"), (0.85, "850 ms"), (59.5256, "59.5 s"), (600, "10.0 min"),
    (7380, "2.05 h"), (math.nan, "–")])
def test_duration_picks_a_readable_unit(seconds, text):
    assert fmt.duration(seconds) == text


def test_format_bytes_is_the_one_byte_formatter():
    assert fmt.format_bytes(4096) == "4 KiB" and fmt.format_bytes(1536) == "1.5 KiB"
    assert fmt.format_bytes(1000 * MIB) == "1000 MiB" and fmt.format_bytes(1 << 60) == "1 EiB"
    assert fmt.format_bytes(71.47 * KIB, 4) == "71.47 KiB"
    assert fmt.signed_bytes(-4096) == "-4 KiB"


def test_missing_values_read_as_a_dash():
    for missing in (None, math.nan, np.float32("nan"), pd.NA, pd.NaT):
        assert fmt.format_bytes(missing) == fmt.duration(missing) == fmt.sig(missing) == "–"
        assert fmt.percent(missing) == fmt.signed_percent(missing) == "–"


def test_shares_factors_and_p_values():
    assert fmt.percent(0.885) == "88.5%" and fmt.signed_percent(-0.12) == "−12%"
    assert fmt.factor_text(4.5) == "4.5×" and fmt.factor_text(2560) == "2,560×"
    assert fmt.p_text(0.0004) == "< 0.001" and fmt.p_text(None) == "not tested"
    assert fmt.ratio_text(1.12, 1.08, 1.16) == "×1.12 [1.08, 1.16]" and fmt.ratio_text(1, 1, 1) == "baseline"
    assert fmt.with_ci(59.5, 38.8, 80.3) == "59.5 [38.8, 80.3]"


def test_an_interval_keeps_the_unit_of_its_estimate():
    assert fmt.duration_ci(97.8, 51.3, 144.6) == "97.8 s [51.3 s, 145 s]"  # not "2.41 min"
    assert fmt.duration_range(51.3, 144.6, reference=97.8) == "51.3 s – 145 s"
    assert fmt.duration_ci(150.0, 100.0, 300.0) == "2.50 min [1.67 min, 5.00 min]"
    assert fmt.durations([0.0008, 0.0012], reference=0.001) == ["0.800 ms", "1.20 ms"]
    assert fmt.duration_ci(math.nan, 1.0, 2.0) == "– [1.00 s, 2.00 s]"


def test_the_sample_report_tables_never_mix_units_inside_an_interval():
    import re
    from repo import RAW
    from voltools.analysis import findings, models, tables
    from voltools.store import load_run
    points = load_run("sample", RAW)
    fits = findings.fit_usable(points)
    compare = models.compare_to_baseline(fits, "host", dataset_bytes=40 * GIB, bs_bytes=64 * KIB)
    table = tables.compare_display(compare).frame
    for text in list(table["95% interval, mean"]) + list(table["95% interval, one read"]):
        units = set(re.findall(r"[\d.]+ (µs|ms|s|min|h)\b", text))
        assert len(units) == 1, text
    track = tables.track_record_display(findings.track_record(points, 64 * KIB)).frame
    for text in track["predicted [95%]"]:
        assert len(set(re.findall(r"[\d.]+ (µs|ms|s|min|h)\b", text))) == 1, text


@pytest.mark.parametrize("value, text", [(12832, "12,800"), (433082.3, "433,000"), (631.2, "631"),
                                         (5.716, "5.72"), (0, "0"), (math.nan, "–")])
def test_counts_have_three_significant_figures_and_thousands_separators(value, text):
    assert fmt.count_text(value) == text

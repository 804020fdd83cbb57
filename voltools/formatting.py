"""Numbers as people read them: significant figures, sizes in binary units, durations, shares,
p-values, factors and ratios with intervals. Pure: value in, string out."""
from __future__ import annotations

import math

KIB = 1024
MIB = 1024**2
_UNITS = (("EiB", 1024**6), ("PiB", 1024**5), ("TiB", 1024**4), ("GiB", 1024**3), ("MiB", MIB),
          ("KiB", KIB), ("B", 1))
_TIMES = ((1e-3, 1e-6, "µs"), (1.0, 1e-3, "ms"), (120.0, 1.0, "s"), (7200.0, 60.0, "min"),
          (math.inf, 3600.0, "h"))


def sig(value, digits=3, trim=False):
    """`value` to `digits` significant figures without an exponent for 1e-3 <= |x| < 1e6:
    1489.6 -> '1490', 0.02334 -> '0.0233'; NaN/None -> '–', inf -> '∞'. trim drops '.0'."""
    if _missing(value):
        return "–"
    x = float(value)
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    if x == 0:
        return "0"
    exp = math.floor(math.log10(abs(x)))
    if exp >= 6 or exp < -3:
        return f"{x:.{digits - 1}e}"
    rounded = round(x, digits - 1 - exp)
    exp = math.floor(math.log10(abs(rounded))) if rounded else exp
    text = f"{rounded:.{max(0, digits - 1 - exp)}f}"
    if trim and "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def format_bytes(n_bytes, digits=3):
    """Bytes in binary units to `digits` significant figures: 42949672960 -> '40 GiB',
    73189 -> '71.5 KiB', 1536 -> '1.5 KiB'; NaN/None -> '–'."""
    if _missing(n_bytes):
        return "–"
    x = float(n_bytes)
    name, unit = next((n, u) for n, u in _UNITS if abs(x) >= u or u == 1)
    return f"{sig(x / unit, digits, trim=True)} {name}"


def rate_text(bytes_per_s, digits=3):
    """Bytes per second in binary units: '1.39 GiB/s', '712 MiB/s'."""
    text = format_bytes(bytes_per_s, digits)
    return text if text == "–" else f"{text}/s"


def duration(seconds, digits=3):
    """Seconds as '46.2 µs', '850 ms', '59.5 s', '12.3 min' or '2.05 h'."""
    if _missing(seconds):
        return "–"
    s = float(seconds)
    unit, name = next((u, n) for limit, u, n in _TIMES if abs(s) < limit)
    return f"{sig(s / unit, digits)} {name}"


def _time_unit(seconds):
    """(unit in seconds, name) that duration() would use for `seconds`."""
    s = abs(float(seconds))
    return next((u, n) for limit, u, n in _TIMES if s < limit)


def durations(values, reference=None, digits=3):
    """Several durations in ONE unit, the one duration() gives `reference` (default: the first
    value): [97.8, 51.3, 144.6] -> ['97.8 s', '51.3 s', '145 s'], never '2.41 min' beside 's'."""
    values = list(values)
    known = [v for v in ([reference] if reference is not None else values) if not _missing(v)]
    if not known:
        return ["–" for _ in values]
    unit, name = _time_unit(known[0])
    return ["–" if _missing(v) else f"{sig(float(v) / unit, digits)} {name}" for v in values]


def duration_ci(est, low, high, digits=3):
    """An expected duration with its interval in the estimate's unit: '97.8 s [51.3 s, 145 s]'."""
    a, b, c = durations((est, low, high), digits=digits)
    return f"{a} [{b}, {c}]"


def duration_range(low, high, reference=None, digits=3):
    """An interval in one unit, that of `reference` (the estimate it belongs to; default the upper
    bound): duration_range(51.3, 144.6, reference=97.8) -> '51.3 s – 145 s'."""
    ref = next((v for v in (reference, high, low) if not _missing(v)), None)
    a, b = durations((low, high), reference=ref, digits=digits)
    return f"{a} – {b}"


def with_ci(est, low, high, fmt=sig):
    """'59.5 [38.8, 80.3]': an estimate with its interval, each through `fmt`."""
    return f"{fmt(est)} [{fmt(low)}, {fmt(high)}]"


def count_text(value, digits=3):
    """A rate or count to `digits` significant figures with thousands separators: 12832 -> '12,800'."""
    if _missing(value):
        return "–"
    x = float(value)
    if x == 0 or math.isinf(x):
        return sig(x)
    decimals = digits - 1 - math.floor(math.log10(abs(x)))
    return f"{round(x, decimals):,.{max(0, decimals)}f}"


def percent(value, digits=3):
    """A share as '88.5%'."""
    return "–" if _missing(value) else f"{sig(100 * float(value), digits)}%"


def p_text(value):
    """A p-value: '0.48', '0.0087', '< 0.001'; NaN (not tested) -> 'not tested'."""
    if _missing(value):
        return "not tested"
    return "< 0.001" if value < 0.001 else sig(value, 2)


def factor_text(factor):
    """A factor as '4.5×' or '2,560×'."""
    return f"{factor:,.0f}×" if factor >= 10 else f"{sig(factor, 2, trim=True)}×"


def ratio_text(ratio, low, high):
    """A ratio of expected times with its interval: '×1.12 [1.08, 1.16]'; 'baseline' for a row
    compared with itself."""
    if _missing(ratio):
        return "–"
    if ratio == low == high == 1:
        return "baseline"
    return f"×{sig(ratio)} [{sig(low)}, {sig(high)}]"


def signed_bytes(x):
    """A byte count that may be negative: '-4 KiB'."""
    return f"-{format_bytes(-x)}" if x < 0 else format_bytes(x)


def signed_percent(value):
    """A signed share: '+3.1%', '−12%'."""
    return "–" if _missing(value) else ("+" if value >= 0 else "−") + percent(abs(value), 2)


def _missing(value):
    """True for None, NaN, NaT and pd.NA (no pandas needed)."""
    try:
        return value is None or bool(value != value)
    except TypeError:  # pd.NA cannot say whether it equals itself
        return True

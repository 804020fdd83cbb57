"""The points table's shared definitions: which rows are usable, its keys."""
import numpy as np
import pandas as pd

from voltools.analysis import models
from voltools.points import FIT_KEY, NODE_POINT_KEY, POINT_COLUMNS, POINT_KEY, usable, usable_mask


def _frame(**columns):
    return pd.DataFrame(columns)


def test_a_row_is_usable_when_its_read_time_is_finite_and_its_error_is_0():
    df = _frame(read_time_s=[1.0, np.nan, np.inf, 2.0, 3.0, 4.0],
                error=pd.array([0, 0, 0, 5, None, 0], dtype="Int64"))
    assert usable_mask(df).tolist() == [True, False, False, False, False, True]


def test_a_table_without_an_error_column_has_no_errors():
    assert usable_mask(_frame(read_time_s=[1.0, None, -np.inf])).tolist() == [True, False, False]


def test_a_read_time_that_is_not_a_number_is_not_usable():
    df = _frame(read_time_s=pd.Series(["1.5", "fast", None], dtype=object), error=[0, 0, 0])
    assert usable_mask(df).tolist() == [True, False, False]


def test_usable_checks_the_column_asked_for_and_keeps_the_rows():
    df = _frame(read_time_s=[1.0, 2.0], lat_p50_ns=pd.array([None, 7], dtype="Int64"), error=[0, 0])
    assert usable(df, "lat_p50_ns").index.tolist() == [1]
    assert isinstance(usable_mask(df), np.ndarray)


def test_the_models_use_the_same_mask():
    df = _frame(read_time_s=[1.0, np.nan, 2.0], error=pd.array([0, 0, None], dtype="Int64"))
    assert models._ok_mask(df).tolist() == usable_mask(df).tolist()


def test_the_keys_are_columns_of_the_table():
    assert set(POINT_KEY) <= set(POINT_COLUMNS) and NODE_POINT_KEY == ["node", *POINT_KEY]
    assert set(FIT_KEY) <= set(POINT_KEY)
    assert tuple(models.DEFAULT_BY) == FIT_KEY  # the models group by the fit key

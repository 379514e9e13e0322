"""Series from CSV files: one series in wide format, or many in long format.

Wide (one series; a row per time step)::

    day,sales,price,holiday          rnnlab forecast f.csv --column sales --covariates price
    2020-01-01,12,3.5,0                                    --future-covariates holiday

Long (many series stacked; a row per series and time step, each series' rows in time order)::

    store,day,sales,price            rnnlab forecast f.csv --series-column store --column sales
    a,2020-01-01,12,3.5
    a,2020-01-02,14,3.5
    b,2020-01-01,40,2.0

Row numbers in errors count lines of the file (the header is line 1), so the user can open the
file there. Missing values (empty cells, NA, NaN) in the target or a covariate are an error
listing their lines: filling them is a modelling choice the user should make, not one made here.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rnnlab.errors import DataError
from rnnlab.forecast.data import MAX_REPORTED_ROWS, Series, check_covariate_names, rows_listed

Rows = list[list[str]]


def read_table(path: str | Path) -> tuple[list[str], Rows, list[int]]:
    """(header, rows, line number of each row): the non-blank rows of a CSV file with a header row."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path} does not exist; pass a CSV file or the name of a built-in series")
    with path.open(newline="", encoding="utf-8-sig") as handle:
        numbered = [(line, r) for line, r in enumerate(csv.reader(handle), start=1)]
    numbered = [(line, r) for line, r in numbered if any(cell.strip() for cell in r)]
    if not numbered:
        raise DataError(f"{path} is empty; it needs a header row and at least a few rows of values")
    header = [h.strip() for h in numbered[0][1]]
    body = numbered[1:]
    if not body:
        raise DataError(f"{path} has a header ({header}) but no rows of values")
    return header, [r for _, r in body], [line for line, _ in body]


def _cells(rows: Rows, index: int) -> list[str]:
    return [r[index].strip() if index < len(r) else "" for r in rows]


def parse_numeric(
    cells: Sequence[str], lines: Sequence[int]
) -> tuple[list[float], list[int], list[tuple[int, str]]]:
    """(values, line numbers of missing cells, (line, text) of non-numeric cells)."""
    values: list[float] = []
    missing: list[int] = []
    bad: list[tuple[int, str]] = []
    for line, text in zip(lines, cells, strict=True):
        if text.lower() in ("", "na", "nan", "null", "none"):
            missing.append(line)
            continue
        try:
            value = float(text)
        except ValueError:
            bad.append((line, text))
            continue
        if not math.isfinite(value):
            missing.append(line)
            continue
        values.append(value)
    return values, missing, bad


def numeric_column(
    path: Path, header: list[str], rows: Rows, lines: list[int], column: str, role: str
) -> np.ndarray:
    """Column ``column`` as floats, or a DataError naming every missing / non-numeric cell's line."""
    values, missing, bad = parse_numeric(_cells(rows, header.index(column)), lines)
    if missing:
        raise DataError(
            f"{path}: {role} column {column!r} has {len(missing)} missing value(s) "
            f"at line(s) {rows_listed(missing)}; "
            "fill or drop them first (e.g. interpolate in a spreadsheet or pandas)"
        )
    if bad:
        shown = ", ".join(f"line {r}: {v!r}" for r, v in bad[:MAX_REPORTED_ROWS])
        more = f" and {len(bad) - MAX_REPORTED_ROWS} more" if len(bad) > MAX_REPORTED_ROWS else ""
        raise DataError(
            f"{path}: {role} column {column!r} has {len(bad)} non-numeric value(s) ({shown}{more}); "
            "choose numeric columns or clean those cells"
        )
    return np.asarray(values, dtype=np.float64)


def choose_column(
    path: Path, header: list[str], rows: Rows, lines: list[int], column: str | None, exclude: Sequence[str]
) -> str:
    """``column`` if the file has it; without one, the only numeric column not in ``exclude``."""
    if column is not None:
        if column not in header:
            raise DataError(f"{path} has no column {column!r}; available columns: {header}")
        return column
    numeric = [
        h for i, h in enumerate(header)
        if h not in exclude and parse_numeric(_cells(rows[:20], i), lines[:20])[2] == []
    ]  # fmt: skip
    if len(numeric) != 1:
        raise DataError(
            f"{path}: say which column to forecast with --column NAME; available columns: {header}"
        )
    return numeric[0]


def _check_column(path: Path, header: list[str], name: str | None, what: str) -> None:
    if name is not None and name not in header:
        raise DataError(f"{path} has no {what} {name!r}; available columns: {header}")


def _series(
    path: Path, header: list[str], rows: Rows, lines: list[int], column: str, past: Sequence[str],
    future: Sequence[str], date_column: str | None, season: int | None, key: str | None,
) -> Series:  # fmt: skip
    values = numeric_column(path, header, rows, lines, column, "target")
    blocks = []
    for names in (past, future):
        cols = [numeric_column(path, header, rows, lines, c, "covariate") for c in names]
        blocks.append(np.stack(cols, axis=1) if cols else np.zeros((len(values), 0)))
    times = _cells(rows, header.index(date_column)) if date_column is not None else None
    name = f"{path.stem}:{column}" if key is None else f"{path.stem}:{column}[{key}]"
    return Series(name, values, times, season, "", blocks[0], list(past), blocks[1], list(future), key)


def read_csv_series(
    path: str | Path,
    column: str | None = None,
    *,
    covariates: Sequence[str] = (),
    future_covariates: Sequence[str] = (),
    date_column: str | None = None,
    season: int | None = None,
) -> Series:
    """One series (wide format): the target ``column`` and the named covariate columns.

    ``column`` defaults to the only numeric-looking column besides the date and covariates.
    """
    path = Path(path)
    header, rows, lines = read_table(path)
    column = choose_column(path, header, rows, lines, column,
                           [date_column or "", *covariates, *future_covariates])  # fmt: skip
    _check_column(path, header, date_column, "date column")
    check_covariate_names(header, column, covariates, future_covariates, str(path))
    return _series(
        path, header, rows, lines, column, covariates, future_covariates, date_column, season, None
    )


def read_long_csv(
    path: str | Path,
    column: str | None,
    series_column: str,
    *,
    covariates: Sequence[str] = (),
    future_covariates: Sequence[str] = (),
    date_column: str | None = None,
    season: int | None = None,
) -> list[Series]:
    """Many series (long format): one per value of ``series_column``, in order of first appearance.

    Each series' rows are taken in file order (so the file must list each series' rows in time
    order; they may be interleaved with other series' rows). With ``date_column``, a time label
    repeated within one series is an error: it usually means a wide file read as long, or two
    series sharing an id.
    """
    path = Path(path)
    header, rows, lines = read_table(path)
    _check_column(path, header, series_column, "series column (--series-column)")
    _check_column(path, header, date_column, "date column")
    column = choose_column(path, header, rows, lines, column,
                           [series_column, date_column or "", *covariates, *future_covariates])  # fmt: skip
    if column == series_column:
        raise DataError(f"{path}: --column and --series-column are both {column!r}; the target must differ")
    check_covariate_names(header, column, covariates, future_covariates, str(path))
    keys = _cells(rows, header.index(series_column))
    empty = [line for line, k in zip(lines, keys, strict=True) if not k]
    if empty:
        raise DataError(
            f"{path}: series column {series_column!r} is empty at line(s) {rows_listed(empty)}; "
            "every row needs the id of the series it belongs to"
        )
    groups: dict[str, list[int]] = {}
    for i, k in enumerate(keys):
        groups.setdefault(k, []).append(i)
    if date_column is not None:
        _check_unique_times(path, rows, lines, header.index(date_column), groups)
    out = []
    for key, members in groups.items():
        sub_rows, sub_lines = [rows[i] for i in members], [lines[i] for i in members]
        out.append(_series(path, header, sub_rows, sub_lines, column, covariates, future_covariates,
                           date_column, season, key))  # fmt: skip
    return out


def _check_unique_times(
    path: Path, rows: Rows, lines: list[int], index: int, groups: dict[str, list[int]]
) -> None:
    for key, members in groups.items():
        seen: dict[str, int] = {}
        for i in members:
            label = rows[i][index].strip() if index < len(rows[i]) else ""
            if label in seen:
                raise DataError(
                    f"{path}: series {key!r} has time {label!r} twice (lines {seen[label]} and {lines[i]}); "
                    "each series needs one row per time step — check --series-column, or whether the "
                    "file is wide (one column per series) rather than long"
                )
            seen[label] = lines[i]

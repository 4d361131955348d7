"""Columns of categories to integer codes, for :class:`rbmlib.CategoricalRBM`.
"""

import math
from contextlib import contextmanager
from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_array
from sklearn.utils._encode import _check_unknown, _encode, _unique
from sklearn.utils._mask import _get_mask
from sklearn.utils.validation import validate_data

from .._blocks import RowBlocks


def _is_dataframe(X):
    return hasattr(X, "columns") and hasattr(X, "iloc")


def _is_scalar_nan(x):
    return isinstance(x, Real) and not isinstance(x, Integral) and math.isnan(x)


def _missing_mask(col, missing_values):
    """Boolean mask of the missing entries of one 1-D column (NaN, None, pd.NA, or
    ``missing_values``)."""
    if col.dtype.kind in "fc":
        miss = np.isnan(col)
        if np.isinf(col).any():
            raise ValueError("X contains infinity; categories must be finite numbers "
                             "or strings (NaN marks a missing entry).")
    elif col.dtype.kind == "O":
        try:
            import pandas as pd

            miss = np.asarray(pd.isna(col), dtype=bool)
        except ImportError:  # pragma: no cover - pandas optional
            miss = np.fromiter((v is None or (isinstance(v, float) and v != v) for v in col),
                               dtype=bool, count=col.shape[0])
    else:
        miss = np.zeros(col.shape[0], dtype=bool)
    if missing_values is not None and not _is_scalar_nan(missing_values):
        miss |= _get_mask(col, missing_values)
    return miss


def _array_columns(Xa):
    """The columns of a validated 2-D array as 1-D ndarrays (strings and other
    non-numeric dtypes as object)."""
    if Xa.dtype.kind in "US" or Xa.dtype.kind not in "biufO":
        Xa = Xa.astype(object)
    if Xa.dtype.kind == "c":  # pragma: no cover - check_array refuses complex
        raise ValueError("Complex data not supported.")
    return [Xa[:, j] for j in range(Xa.shape[1])]


def _no_observed_value(j):
    return ValueError(
        f"Column {j} of X has no observed (non-missing) value, so categories='auto' finds "
        f"no category for it; give its categories explicitly (categories=[...]) or drop "
        f"the column.")




class _CategoryEncoding:
    """How CategoricalRBM turns columns of categories into integer codes (a mixin):
    validation of the columns, ``categories_``, the codes with -1 for a missing entry, and
    the categories of a dask array found over all its chunks."""

    def _columns(self, X, reset):
        """Validate X (names, shape) and return its columns as 1-D ndarrays."""
        if _is_dataframe(X):
            validate_data(self, X, skip_check_array=True, reset=reset)
            if X.shape[0] == 0:
                raise ValueError("X has 0 samples; at least one is required.")
            if X.shape[1] == 0:
                raise ValueError("X has 0 features; at least one is required.")
            cols = []
            for j in range(X.shape[1]):
                s = X.iloc[:, j]
                a = s.to_numpy()
                if a.dtype.kind not in "biufO":  # category, string, nullable dtypes
                    a = np.asarray(s.astype(object).to_numpy(), dtype=object)
                cols.append(a)
            return cols
        return _array_columns(validate_data(self, X, reset=reset, dtype=None,
                                            ensure_all_finite=False, accept_sparse=False))

    def _fit_categories(self, cols):
        """``categories_`` and ``offsets_`` from the training columns."""
        G = len(cols)
        if isinstance(self.categories, list):
            if len(self.categories) != G:
                raise ValueError(
                    f"categories has {len(self.categories)} entries but X has {G} columns; "
                    f"give one array of categories per column (or categories='auto').")
            cats = []
            for j, given in enumerate(self.categories):
                c = np.asarray(given)
                if c.ndim != 1 or c.shape[0] == 0:
                    raise ValueError(
                        f"categories[{j}] must be a non-empty 1-D array-like, got shape "
                        f"{c.shape}.")
                if c.dtype.kind in "US":
                    c = c.astype(object)
                if _missing_mask(c, None).any():
                    raise ValueError(f"categories[{j}] contains a missing value (NaN/None); "
                                     f"missing entries are never categories.")
                if c.dtype.kind in "biuf":
                    if np.any(np.diff(c) <= 0):
                        raise ValueError(
                            f"categories[{j}] must be sorted and unique for numeric "
                            f"categories (as OneHotEncoder), got {c!r}.")
                elif len(set(c.tolist())) != len(c):
                    raise ValueError(f"categories[{j}] has duplicate values.")
                cats.append(c)
        else:
            cats = []
            for j, col in enumerate(cols):
                values = col[~_missing_mask(col, self.missing_values)]
                if values.shape[0] == 0:
                    raise _no_observed_value(j)
                cats.append(_unique(values))
        sizes = np.array([len(c) for c in cats], dtype=np.int64)
        self.categories_ = cats
        self.offsets_ = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)

    def _encode(self, cols):
        """int32 codes of the columns, -1 for missing (and for unknown with "ignore")."""
        n = cols[0].shape[0]
        codes = np.full((n, len(cols)), -1, dtype=np.int32)
        for j, col in enumerate(cols):
            obs = ~_missing_mask(col, self.missing_values)
            values = col[obs]
            cats = self.categories_[j]
            if values.dtype.kind == "O" and cats.dtype.kind != "O":
                cats = cats.astype(object)
            try:
                diff, valid = _check_unknown(values, cats, return_mask=True)
            except TypeError as e:
                raise TypeError(
                    f"Column {j} of X mixes strings and numbers or does not match the "
                    f"type of its categories {self.categories_[j]!r}: {e}") from e
            if len(diff):
                if self.handle_unknown == "error":
                    raise ValueError(
                        f"Found unknown categories {np.asarray(diff).tolist()[:10]} in column "
                        f"{j} of X; its categories are {self.categories_[j].tolist()[:20]}. "
                        f"Pass them in "
                        f"categories=..., or set handle_unknown='ignore' to treat unknown "
                        f"values as missing (imputed).")
                idx = np.flatnonzero(obs)
                obs[idx[~valid]] = False
                values = values[valid]
            codes[obs, j] = _encode(values, uniques=cats, check_unknown=False)
        return codes

    def _check_missing_not_category(self):
        """ValueError when ``missing_values`` is one of the categories: its entries
        would be dropped from training and overwritten by :meth:`impute`."""
        mv = self.missing_values
        if mv is None or _is_scalar_nan(mv):
            return  # NaN and None are never categories
        for j, cats in enumerate(self.categories_):
            if _get_mask(cats, mv).any():
                if isinstance(self.categories, list):
                    remedy = (f"Remove {mv!r} from categories[{j}], or set missing_values to "
                              f"a value that is not a category (np.nan by default).")
                else:  # missing_values changed after a fit with categories="auto"
                    remedy = (f"The model was fitted with {mv!r} as a category: set "
                              f"missing_values back, or fit again (categories='auto' then "
                              f"leaves the missing value out).")
                raise ValueError(
                    f"missing_values={mv!r} is also a category of column {j} "
                    f"(categories_[{j}] = {cats.tolist()[:20]}): its observed entries would "
                    f"be treated as missing, left out of training and overwritten by "
                    f"impute. {remedy}")

    def _chunk_categories(self, X):
        """categories="auto" of a dask array: the sorted distinct observed values of
        each column over all its row chunks (one pass, one chunk in memory at a time)."""
        found = None
        for block in RowBlocks(X).blocks():
            cols = _array_columns(check_array(block, dtype=None, ensure_all_finite=False,
                                              accept_sparse=False))
            seen = [_unique(col[~_missing_mask(col, self.missing_values)]) for col in cols]
            found = seen if found is None else [
                _unique(np.concatenate([a, b])) for a, b in zip(found, seen)]
        for j, cats in enumerate(found):
            if cats.shape[0] == 0:
                raise _no_observed_value(j)
        return found

    @contextmanager
    def _categories_of_all_chunks(self, X):
        """With categories="auto", the categories of a dask X are found over all its
        chunks before training (its chunks are streamed through partial_fit, whose
        first call would otherwise see only the first chunk), as for the same data in
        memory. They are given to the training as ``categories`` for the duration of
        the block, then the parameter is "auto" again."""
        if not (isinstance(self.categories, str) and self.categories == "auto"):
            yield
            return
        self._validate_params()  # before reading the data
        self.categories = self._chunk_categories(X)
        try:
            yield
        finally:
            self.categories = "auto"

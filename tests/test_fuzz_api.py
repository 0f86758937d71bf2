"""Property-based fuzz of the public API (issue 10, item 5).

For every call: only ValueError/TypeError escape, with the library's own message; the
inputs are unchanged; a call that succeeds returns a writable C-contiguous array that
is no view of an input, of the documented shape and dtype, equal to PyTorch (float64)
with PyTorch's NaN/Inf positions; a call the documented rules forbid is refused; a
valid small call is not. Examples per test: the hypothesis profile (tests/conftest.py;
``make fuzz`` soaks with 10**4). Strategies, guards and oracles: fuzz_strategies.py.
"""

from __future__ import annotations

import math
import threading
import time

import numpy as np
import scipy.sparse
from hypothesis import given
from hypothesis import strategies as st

import deconvkit as dk
from deconvkit._checks import MAX_NDIM
from fuzz_strategies import (MAX_KERNEL, MAX_SPATIAL, ORACLE_MAX_ELEMENTS, Geometry, Invalid,
                             _is_seq,
                             Refused, assert_matches, check_result_array, conv_geometry,
                             float_arrays, fuzz_settings, guarded, is_int, maybe_wild,
                             oracle_conv, oracle_conv_transpose,
                             oracle_conv_transpose_weight_grad, oracle_conv_weight_grad,
                             paddings, per_axis, ref_axes, ref_float_array, ref_groups,
                             ref_method, ref_padding, same_pad, transpose_geometry,
                             wild_array, wild_geometry, wild_scalars)

METHODS = dk.available_methods()
OPERATIONS = ("conv", "conv_transpose", "conv_weight_grad", "conv_transpose_weight_grad")
DTYPES = (np.float64, np.float32)


# ---------------------------------------------------------------------------- shared


def judge(result, reference, wild, what):
    """Compare the outcome with the reference rules.

    Returns the reference value when the result must be checked further, else None.
    """
    try:
        ref = reference()
    except Invalid as why:
        assert isinstance(result, Refused), (
            f"{what} accepted arguments the documented rules forbid ({why}); it returned "
            f"{_short(result)}")
        return None
    if isinstance(result, Refused):
        assert wild, f"{what} refused valid arguments: {result}"
        return None
    return ref


def _short(value):
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    text = repr(value)
    return text if len(text) < 200 else text[:200] + "..."


@st.composite
def problems(draw, op):
    """Arrays and arguments of one call of ``op`` (conv, conv_transpose or a weight
    gradient): valid-leaning, or ``wild`` with nonsense mixed in."""
    wild = draw(st.integers(0, 3)) == 0
    ndim = draw(st.integers(1, 3))
    G = draw(st.sampled_from([1, 1, 2, 3]))
    cig, cog = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    k = tuple(draw(st.integers(1, MAX_KERNEL[ndim])) for _ in range(ndim))
    N = draw(st.sampled_from([1, 1, 2, 0]))
    m = tuple(draw(st.integers(1, MAX_SPATIAL[ndim])) for _ in range(ndim))
    dtype = draw(st.sampled_from(DTYPES))
    nonfinite = draw(st.integers(0, 3)) == 0
    small = st.integers(1, 3)
    kw = dict(
        stride=draw(maybe_wild(per_axis(small, ndim), wild)),
        padding=draw(maybe_wild(paddings(ndim), wild)),
        dilation=draw(maybe_wild(per_axis(st.integers(1, 2), ndim), wild)),
        groups=draw(maybe_wild(st.just(G), wild)),
        method=draw(st.one_of(st.sampled_from(("auto",) + METHODS),
                              st.sampled_from(["bogus", None, 1, "AUTO"]) if wild
                              else st.sampled_from(("auto",) + METHODS))),
    )
    c_in, c_out = G * cig, G * cog
    x = draw(float_arrays((N, c_in) + m, dtype, nonfinite and draw(st.booleans())))
    case = dict(op=op, wild=wild, ndim=ndim, kw=kw)
    if op in ("conv", "conv_transpose"):
        w_shape = (c_out, cig) + k if op == "conv" else (c_in, cog) + k
        w = draw(float_arrays(w_shape, dtype, nonfinite and draw(st.booleans())))
        b = None
        if draw(st.booleans()):
            b = draw(float_arrays((c_out,), dtype, nonfinite and draw(st.booleans())))
        if op == "conv_transpose":
            kw["output_padding"] = draw(maybe_wild(
                st.one_of(st.just(0), per_axis(st.integers(0, 2), ndim)), wild))
            kw["output_size"] = draw(_output_sizes(m, k, kw, N, c_out, wild))
            if kw["output_size"] is not None and draw(st.booleans()):
                kw["output_padding"] = 0
        if wild and draw(st.integers(0, 2)) == 0:
            slot = draw(st.sampled_from(["x", "w", "b"]))
            bad = draw(wild_array(x.shape if slot == "x" else w_shape if slot == "w"
                                  else (c_out,)))
            x, w, b = (bad if slot == "x" else x), (bad if slot == "w" else w), \
                (bad if slot == "b" else b)
        if wild and draw(st.integers(0, 5)) == 0 and isinstance(w, np.ndarray) and \
                isinstance(x, np.ndarray) and x.dtype == w.dtype:
            w = w.astype(np.float32 if w.dtype == np.float64 else np.float64)
        case.update(x=x, w=w, b=b)
        return case
    # weight gradients: dy of the output size (or near it)
    kernel_size = draw(maybe_wild(st.one_of(st.just(k), st.just(k[0]) if len(set(k)) == 1
                                            else st.just(k), st.just(list(k))), wild))
    if op == "conv_weight_grad":
        try:
            out = conv_geometry(m, k, kw["stride"], kw["padding"], kw["dilation"], G)[1]
        except Invalid:
            out = m
        c_dy = c_out
    else:
        try:
            geo, out = transpose_geometry(m, k, kw["stride"], kw["padding"], kw["dilation"],
                                          G)
            extra = tuple(draw(st.integers(0, max(s, d) - 1)) if max(s, d) < 8 else 0
                          for s, d in zip(geo.s, geo.d))
            if not (isinstance(kw["padding"], str) and kw["padding"].lower() == "same"):
                out = tuple(o + e for o, e in zip(out, extra))
        except Invalid:
            out = m
        c_dy = c_out
    if wild and draw(st.booleans()):
        out = tuple(max(0, o + draw(st.integers(-1, 1))) for o in out)
    if any(o > 64 for o in out):
        out = tuple(min(o, 64) for o in out)
    dy = draw(float_arrays((N, c_dy) + tuple(out), dtype, nonfinite and draw(st.booleans())))
    if wild and draw(st.integers(0, 2)) == 0:
        slot = draw(st.sampled_from(["x", "dy"]))
        bad = draw(wild_array(x.shape if slot == "x" else dy.shape))
        x, dy = (bad if slot == "x" else x), (bad if slot == "dy" else dy)
    case.update(x=x, dy=dy, kernel_size=kernel_size, k=k)
    return case


@st.composite
def _output_sizes(draw, m, k, kw, N, c_out, wild):
    """None mostly; else a size near the valid range, spatial or (N, C, *spatial)."""
    choice = draw(st.integers(0, 5 if not wild else 7))
    if choice <= 2:
        return None
    try:
        geo, out = transpose_geometry(m, k, kw["stride"], kw["padding"], kw["dilation"],
                                      kw["groups"])
    except Invalid:
        out, geo = m, None
    extra = [draw(st.integers(0, max(s, d) - 1)) if geo and max(s, d) < 8 else 0
             for s, d in (zip(geo.s, geo.d) if geo else [(1, 1)] * len(m))]
    size = tuple(o + e - (geo.r[i] if geo else 0) for i, (o, e) in enumerate(zip(out, extra)))
    if choice == 3:
        return size
    if choice == 4:
        return (N, c_out) + size
    if choice == 5:
        return list(size) if len(set(size)) > 1 else size[0]
    return draw(wild_geometry)


def _arrays(*values):
    """The arrays the library saw (a list of floats is accepted as an array)."""
    return tuple(None if v is None else np.asarray(v) for v in values)


def _check_array_call(case, result, ref_fn, oracle_fn, inputs, what):
    ref = judge(result, ref_fn, case["wild"], what)
    if ref is None:
        return
    shape, dtype, terms = ref
    check_result_array(result, inputs, shape=shape, dtype=dtype, what=what)
    if math.prod(shape) <= ORACLE_MAX_ELEMENTS:
        try:
            want = oracle_fn()
        except Invalid:
            return
        assert_matches(result, want, dtype=dtype, terms=terms, what=what)


# ---------------------------------------------------------------------------- functional


def _conv_ref(case):
    x = ref_float_array(case["x"], "x")
    w = ref_float_array(case["w"], "w")
    kw = case["kw"]
    ref_method(kw["method"], METHODS)
    if x.ndim < 3 or w.ndim != x.ndim or 0 in x.shape[1:] or 0 in w.shape:
        raise Invalid("shapes")
    if x.dtype != w.dtype:
        raise Invalid("dtypes")
    G = ref_groups(kw["groups"])
    if w.shape[0] % G or w.shape[1] * G != x.shape[1]:
        raise Invalid("channels")
    b = case["b"]
    if b is not None:
        b = ref_float_array(b, "b")
        if b.shape != (w.shape[0],) or b.dtype != x.dtype:
            raise Invalid("bias")
    geo, out = conv_geometry(x.shape[2:], w.shape[2:], kw["stride"], kw["padding"],
                             kw["dilation"], G)
    case["geo"], case["out"] = geo, out
    return (x.shape[0], w.shape[0]) + out, x.dtype, w.shape[1] * math.prod(w.shape[2:])


@fuzz_settings()
@given(problems("conv"))
def test_conv(case):
    x, w, b = case["x"], case["w"], case["b"]
    result = guarded(dk.conv, x, w, b, **case["kw"])
    _check_array_call(case, result, lambda: _conv_ref(case),
                      lambda: oracle_conv(*_arrays(x, w, b), case["geo"], case["out"]),
                      (x, w, b), f"conv(method={case['kw']['method']!r})")


def _conv_transpose_ref(case):
    x = ref_float_array(case["x"], "x")
    w = ref_float_array(case["w"], "w")
    kw = case["kw"]
    ref_method(kw["method"], METHODS)
    if x.ndim < 3 or w.ndim != x.ndim or 0 in x.shape[1:] or 0 in w.shape:
        raise Invalid("shapes")
    if x.dtype != w.dtype:
        raise Invalid("dtypes")
    G = ref_groups(kw["groups"])
    if w.shape[0] % G or w.shape[0] != x.shape[1]:
        raise Invalid("channels")
    c_out = w.shape[1] * G
    b = case["b"]
    if b is not None:
        b = ref_float_array(b, "b")
        if b.shape != (c_out,) or b.dtype != x.dtype:
            raise Invalid("bias")
    geo, out = transpose_geometry(x.shape[2:], w.shape[2:], kw["stride"], kw["padding"],
                                  kw["dilation"], G, kw["output_padding"], kw["output_size"])
    case["geo"], case["out"] = geo, out
    return (x.shape[0], c_out) + out, x.dtype, w.shape[0] // G * math.prod(w.shape[2:])


@fuzz_settings()
@given(problems("conv_transpose"))
def test_conv_transpose(case):
    x, w, b = case["x"], case["w"], case["b"]
    result = guarded(dk.conv_transpose, x, w, b, **case["kw"])
    _check_array_call(case, result, lambda: _conv_transpose_ref(case),
                      lambda: oracle_conv_transpose(*_arrays(x, w, b), case["geo"],
                                                    case["out"]),
                      (x, w, b), f"conv_transpose(method={case['kw']['method']!r})")


def _grad_ref(case, transposed):
    x = ref_float_array(case["x"], "x")
    dy = ref_float_array(case["dy"], "dy")
    kw = case["kw"]
    ref_method(kw["method"], METHODS)
    if x.ndim < 3 or dy.ndim != x.ndim or 0 in x.shape[1:] or 0 in dy.shape[1:] or \
            x.shape[0] != dy.shape[0]:
        raise Invalid("shapes")
    if x.dtype != dy.dtype:
        raise Invalid("dtypes")
    G = ref_groups(kw["groups"])
    if x.shape[1] % G or dy.shape[1] % G:
        raise Invalid("channels")
    k = ref_axes(case["kernel_size"], x.ndim - 2, "kernel_size")
    if transposed:
        geo, out = transpose_geometry(x.shape[2:], k, kw["stride"], kw["padding"],
                                      kw["dilation"], G, 0, dy.shape[2:])
        w_shape = (x.shape[1], dy.shape[1] // G) + k
    else:
        geo, out = conv_geometry(x.shape[2:], k, kw["stride"], kw["padding"], kw["dilation"],
                                 G)
        if out != dy.shape[2:]:
            raise Invalid(f"dy size {dy.shape[2:]} is not the output size {out}")
        w_shape = (dy.shape[1], x.shape[1] // G) + k
    case["geo"], case["w_shape"] = geo, w_shape
    return w_shape, x.dtype, x.shape[0] * math.prod(dy.shape[2:])


@fuzz_settings()
@given(problems("conv_weight_grad"))
def test_conv_weight_grad(case):
    x, dy = case["x"], case["dy"]
    result = guarded(dk.conv_weight_grad, x, dy, case["kernel_size"], **case["kw"])
    _check_array_call(case, result, lambda: _grad_ref(case, False),
                      lambda: oracle_conv_weight_grad(*_arrays(x, dy), case["geo"],
                                                      case["w_shape"]),
                      (x, dy), f"conv_weight_grad(method={case['kw']['method']!r})")


@fuzz_settings()
@given(problems("conv_transpose_weight_grad"))
def test_conv_transpose_weight_grad(case):
    x, dy = case["x"], case["dy"]
    result = guarded(dk.conv_transpose_weight_grad, x, dy, case["kernel_size"], **case["kw"])
    _check_array_call(
        case, result, lambda: _grad_ref(case, True),
        lambda: oracle_conv_transpose_weight_grad(*_arrays(x, dy), case["geo"],
                                                  case["w_shape"]),
        (x, dy), f"conv_transpose_weight_grad(method={case['kw']['method']!r})")


# ---------------------------------------------------------------------------- conv_matrix


@st.composite
def matrix_problems(draw):
    case = draw(problems("conv"))
    x, w = case["x"], case["w"]
    kw = dict(case["kw"])
    kw.pop("method")
    if isinstance(x, np.ndarray) and x.ndim >= 3:
        input_shape = x.shape[1:]
        if case["wild"] and draw(st.booleans()):
            sizes = st.one_of(st.integers(-1, 8), st.sampled_from([10**6, 10**8, 2**40, 2**63]))
            input_shape = draw(st.one_of(
                wild_geometry,
                st.tuples(*[sizes for _ in input_shape]),
                st.tuples(st.just(input_shape[0]), *[sizes for _ in input_shape[1:]])))
    else:
        input_shape = draw(wild_geometry)
    return dict(case, kw=kw, input_shape=input_shape,
                x=_finite(x), w=_finite(w))


def _finite(a):
    """The matrix is compared on finite data (its stored zeros are its own business)."""
    if isinstance(a, np.ndarray) and a.dtype.kind == "f":
        return np.where(np.isfinite(a), a, a.dtype.type(1))
    return a


def _matrix_ref(case):
    w = ref_float_array(case["w"], "w")
    shape = case["input_shape"]
    if not isinstance(shape, (tuple, list)) or not all(is_int(v) and v >= 1 for v in shape):
        raise Invalid(f"input_shape={shape!r}")
    shape = tuple(int(v) for v in shape)
    if w.ndim < 3 or len(shape) != w.ndim - 1 or 0 in w.shape:
        raise Invalid("shapes")
    kw = case["kw"]
    G = ref_groups(kw["groups"])
    if w.shape[0] % G or w.shape[1] * G != shape[0]:
        raise Invalid("channels")
    geo, out = conv_geometry(shape[1:], w.shape[2:], kw["stride"], kw["padding"],
                             kw["dilation"], G)
    return shape, geo, out


@fuzz_settings()
@given(matrix_problems())
def test_conv_matrix(case):
    w = case["w"]
    result = guarded(dk.conv_matrix, w, case["input_shape"], **case["kw"])
    ref = judge(result, lambda: _matrix_ref(case), case["wild"], "conv_matrix")
    if ref is None:
        return
    shape, geo, out = ref
    w = np.asarray(w)
    assert scipy.sparse.issparse(result), f"conv_matrix returned {type(result).__name__}"
    rows, cols = w.shape[0] * math.prod(out), math.prod(shape)
    assert result.shape == (rows, cols)
    assert result.dtype == w.dtype
    data = getattr(result, "data", None)
    if isinstance(data, np.ndarray):
        assert not np.shares_memory(data, w), "the matrix's data is a view of w"
    x = case["x"]
    if isinstance(x, np.ndarray) and x.ndim >= 3 and x.shape[1:] == shape and \
            x.dtype == w.dtype and x.shape[0] and rows <= ORACLE_MAX_ELEMENTS:
        got = np.stack([result @ sample.ravel() for sample in x])
        want = oracle_conv(x, w, None, geo, out).reshape(x.shape[0], -1)
        assert_matches(got, want, dtype=w.dtype, terms=math.prod(w.shape[1:]),
                       what="conv_matrix @ x")


# ---------------------------------------------------------------------------- choose_method


@st.composite
def choose_problems(draw):
    wild = draw(st.integers(0, 2)) == 0
    case = draw(problems(draw(st.sampled_from(OPERATIONS))))
    op = case["op"]
    x = case["x"]
    other = case.get("w", case.get("dy"))
    x_shape = getattr(x, "shape", x)
    w_shape = getattr(other, "shape", other)
    spec = None
    try:
        spec = dk.ConvSpec(tuple(w_shape[2:]) if w_shape is not None else 3,
                           stride=case["kw"]["stride"],
                           padding=case["kw"]["padding"], dilation=case["kw"]["dilation"],
                           groups=case["kw"]["groups"])
    except Exception:
        spec = dk.ConvSpec((3,) * case["ndim"])
    if wild:
        which = draw(st.integers(0, 3))
        if which == 0:
            op = draw(st.one_of(wild_scalars, st.sampled_from(["conv2d", "CONV"])))
        elif which == 1:
            x_shape = draw(wild_geometry)
        elif which == 2:
            w_shape = draw(wild_geometry)
        else:
            spec = draw(st.one_of(wild_scalars, st.just((3, 3))))
    return op, x_shape, w_shape, spec, wild


@fuzz_settings()
@given(choose_problems())
def test_choose_method(problem):
    op, x_shape, w_shape, spec, wild = problem
    result = guarded(dk.choose_method, op, x_shape, w_shape, spec)
    if isinstance(result, Refused):
        return
    assert isinstance(result, str) and result in METHODS, \
        f"choose_method returned {result!r}, not one of {METHODS}"
    assert op in OPERATIONS, f"choose_method accepted operation {op!r}"
    assert isinstance(spec, dk.ConvSpec), f"choose_method accepted spec={spec!r}"
    for shape in (x_shape, w_shape):
        assert isinstance(shape, (tuple, list)) and len(shape) == spec.ndim + 2 and \
            all(is_int(v) and v >= 0 for v in shape), \
            f"choose_method accepted shape {shape!r} for a {spec.ndim}-d spec"


# ---------------------------------------------------------------------------- ConvSpec

int_tuples = st.one_of(st.integers(1, 4), st.tuples(st.integers(1, 4), st.integers(1, 4)),
                       st.tuples(st.integers(1, 3)), st.lists(st.integers(1, 3), min_size=1,
                                                              max_size=3))


def _size_args(ndim_hint=None):
    sizes = st.one_of(st.integers(1, 9), st.tuples(*[st.integers(1, 9)] * (ndim_hint or 1)),
                      st.lists(st.integers(0, 9), min_size=1, max_size=3))
    return st.one_of(sizes, sizes, wild_geometry)


@st.composite
def spec_args(draw):
    wild = draw(st.integers(0, 2)) == 0
    ndim = draw(st.integers(1, 3))
    k = draw(maybe_wild(per_axis(st.integers(1, 4), ndim), wild))
    args = dict(
        kernel_size=k,
        stride=draw(maybe_wild(per_axis(st.integers(1, 3), ndim), wild)),
        padding=draw(maybe_wild(st.one_of(st.integers(0, 2), st.tuples(
            *[st.one_of(st.integers(0, 2), st.tuples(st.integers(0, 2), st.integers(0, 2)))]
            * ndim)), wild)),
        dilation=draw(maybe_wild(per_axis(st.integers(1, 3), ndim), wild)),
        groups=draw(maybe_wild(st.integers(1, 3), wild)),
        output_padding=draw(maybe_wild(st.one_of(st.just(0), per_axis(st.integers(0, 2), ndim)),
                                       wild)),
    )
    return ndim, args, wild


def _spec_ref(args):
    k = args["kernel_size"]
    ndim = 1 if is_int(k) else (len(k) if _is_seq(k) else None)
    if not ndim:
        raise Invalid(f"kernel_size={k!r}")
    k = ref_axes(k, ndim, "kernel_size")
    s = ref_axes(args["stride"], ndim, "stride")
    d = ref_axes(args["dilation"], ndim, "dilation")
    pads = ref_padding(args["padding"], ndim)
    if isinstance(pads, str):
        raise Invalid("a padding word needs ConvSpec.create")
    G = ref_groups(args["groups"])
    r = ref_axes(args["output_padding"], ndim, "output_padding", minimum=0)
    if any(ri >= max(si, di) for ri, si, di in zip(r, s, d)):
        raise Invalid(f"output_padding {r}")
    return Geometry(k, s, pads, d, r, G)


def _ints_tuple(value, what):
    assert isinstance(value, tuple) and all(type(v) is int for v in value), \
        f"{what} is {value!r}, not a tuple of Python ints"


def _sizes_ref(value, ndim):
    return ref_axes(value, ndim, "input_size", minimum=1)


@fuzz_settings()
@given(spec_args(), st.data())
def test_convspec(problem, data):
    ndim, args, wild = problem
    spec = guarded(dk.ConvSpec, **args)
    geo = judge(spec, lambda: _spec_ref(args), wild, "ConvSpec")
    if geo is None:
        return
    for name, want in (("kernel_size", geo.k), ("stride", geo.s), ("dilation", geo.d),
                       ("output_padding", geo.r)):
        _ints_tuple(getattr(spec, name), f"ConvSpec.{name}")
        assert getattr(spec, name) == want, \
            f"ConvSpec.{name} = {getattr(spec, name)}, expected {want}"
    assert spec.padding == geo.pads and all(type(v) is int for p in spec.padding for v in p)
    assert type(spec.groups) is int and spec.groups == geo.groups
    hash(spec)
    assert spec == dk.ConvSpec(spec.kernel_size, spec.stride, spec.padding, spec.dilation,
                               spec.groups, spec.output_padding)
    assert guarded(lambda: spec.kernel_extent) == geo.e
    assert isinstance(guarded(spec.describe), str)
    # size methods, on valid-leaning or wild sizes
    n = data.draw(_size_args(geo.ndim), label="input_size")

    def sized(method, ref):
        res = guarded(getattr(spec, method), n)
        want = judge(res, ref, True, f"ConvSpec.{method}({n!r})")
        if want is not None:
            assert res == want, f"ConvSpec.{method}({n!r}) = {res}, expected {want}"
            flat = [v for item in res for v in (item if isinstance(item, tuple) else (item,))]
            assert all(type(v) is int for v in flat), f"{method} returned {res!r}"
        return res

    sized("conv_output_size", lambda: geo.conv_out(_sizes_ref(n, geo.ndim)))
    sized("full_size", lambda: geo.full(_sizes_ref(n, geo.ndim)))
    sized("transpose_output_size", lambda: geo.transpose_out(_sizes_ref(n, geo.ndim)))

    def out_range():
        m = _sizes_ref(n, geo.ndim)
        base = tuple(L - lo - hi for L, (lo, hi) in zip(geo.full(m), geo.pads))
        top = tuple(b + max(s, d) - 1 for b, s, d in zip(base, geo.s, geo.d))
        if any(t < 1 for t in top):
            raise Invalid("no output size")
        return tuple(max(b, 1) for b in base), top

    sized("transpose_output_range", out_range)
    want_size = data.draw(st.one_of(st.integers(1, 12), st.tuples(*[st.integers(1, 12)] *
                                                                   geo.ndim), wild_geometry),
                          label="output_size")
    res = guarded(spec.with_output_size, n, want_size)

    def with_size():
        m = _sizes_ref(n, geo.ndim)
        sizes = ref_axes(want_size, geo.ndim, "output_size")
        lo, hi = out_range()
        if any(not a <= v <= b for v, a, b in zip(sizes, lo, hi)):
            raise Invalid("output size out of range")
        base = tuple(L - p - q for L, (p, q) in zip(geo.full(m), geo.pads))
        return tuple(v - b for v, b in zip(sizes, base))

    r = judge(res, with_size, True, f"ConvSpec.with_output_size({n!r}, {want_size!r})")
    if r is not None:
        assert isinstance(res, dk.ConvSpec) and res.output_padding == r
        assert res.transpose_output_size(n) == ref_axes(want_size, geo.ndim, "output_size")


@st.composite
def create_args(draw):
    ndim, args, wild = draw(spec_args())
    args["padding"] = draw(st.one_of(st.just(args["padding"]),
                                     st.sampled_from(["same", "valid", "Same", "full"])))
    transposed = draw(st.booleans())
    input_size = draw(st.one_of(st.none(), st.tuples(*[st.integers(1, 9)] * ndim),
                                st.integers(1, 9), maybe_wild(st.none(), wild)))
    output_size = None
    if draw(st.booleans()):
        output_size = draw(st.one_of(st.tuples(*[st.integers(1, 20)] * ndim),
                                     st.integers(1, 20), maybe_wild(st.none(), wild)))
    nd = draw(maybe_wild(st.just(ndim), wild))
    return nd, dict(args, input_size=input_size, transposed=transposed,
                    output_size=output_size), wild


def _create_ref(nd, args):
    if not is_int(nd) or not 1 <= nd <= MAX_NDIM:
        raise Invalid(f"ndim={nd!r} (documented: 1 to {MAX_NDIM} spatial axes)")
    nd = int(nd)
    k = ref_axes(args["kernel_size"], nd, "kernel_size")
    s = ref_axes(args["stride"], nd, "stride")
    d = ref_axes(args["dilation"], nd, "dilation")
    G = ref_groups(args["groups"])
    r = ref_axes(args["output_padding"], nd, "output_padding", minimum=0)
    pads = ref_padding(args["padding"], nd)
    size = args["input_size"]
    m = None if size is None else _sizes_ref(size, nd)
    if not args["transposed"]:
        if args["output_size"] is not None:
            raise Invalid("output_size for a convolution")
        if pads == "same":
            if m is None:
                raise Invalid("'same' without input_size")
            pads = tuple(same_pad(n, ki, si, di) for n, ki, si, di in zip(m, k, s, d))
        elif pads == "valid":
            pads = ((0, 0),) * nd
        if any(ri >= max(si, di) for ri, si, di in zip(r, s, d)):
            raise Invalid("output_padding")
        return Geometry(k, s, pads, d, r, G)
    if m is None and (pads == "same" or args["output_size"] is not None):
        raise Invalid("needs input_size")
    if m is None:
        if pads == "valid":
            pads = ((0, 0),) * nd
        if any(ri >= max(si, di) for ri, si, di in zip(r, s, d)):
            raise Invalid("output_padding")
        return Geometry(k, s, pads, d, r, G)
    geo, _ = transpose_geometry(m, k, s, pads if isinstance(pads, str) else pads, d, G,
                                args["output_padding"], args["output_size"])
    return geo


@fuzz_settings()
@given(create_args())
def test_convspec_create(problem):
    nd, args, wild = problem
    spec = guarded(dk.ConvSpec.create, nd, **args)
    try:
        geo = _create_ref(nd, args)
    except Invalid as why:
        # creating the spec for a transposed convolution does not require its output to
        # be non-empty unless a size was requested; every other rule must be enforced
        assert isinstance(spec, Refused) or "no transposed output" in str(why), (
            f"ConvSpec.create accepted arguments the documented rules forbid ({why}): {spec}")
        return
    if isinstance(spec, Refused):
        assert wild, f"ConvSpec.create refused valid arguments: {spec}"
        return
    assert (spec.kernel_size, spec.stride, spec.padding, spec.dilation, spec.groups,
            spec.output_padding) == (geo.k, geo.s, geo.pads, geo.d, geo.groups, geo.r), \
        f"ConvSpec.create gave {spec}, expected {vars(geo)}"


# ---------------------------------------------------------------------------- ConvOperator


def _conv_operator_class():
    op = getattr(dk, "ConvOperator", None)
    if op is None:
        from deconvkit.operator import ConvOperator as op
    return op


@fuzz_settings()
@given(matrix_problems(), st.data())
def test_conv_operator(case, data):
    ConvOperator = _conv_operator_class()
    kw = dict(case["kw"], method=data.draw(st.sampled_from(("auto",) + METHODS)))
    w = case["w"]
    op = guarded(ConvOperator, w, case["input_shape"], **kw)
    ref = judge(op, lambda: _matrix_ref(case), case["wild"], "ConvOperator")
    if ref is None:
        return
    shape, geo, out = ref
    w = np.asarray(w)
    rows, cols = w.shape[0] * math.prod(out), math.prod(shape)
    assert op.shape == (rows, cols), f"ConvOperator.shape {op.shape}, expected {(rows, cols)}"
    if rows * cols > 10**7:
        return
    dtype = w.dtype
    nonfinite = data.draw(st.booleans(), label="nonfinite")
    v = data.draw(float_arrays((cols,), dtype, nonfinite), label="v")
    u = data.draw(float_arrays((rows,), dtype, nonfinite), label="u")
    ncols = data.draw(st.integers(0, 3), label="columns")
    M = data.draw(float_arrays((cols, ncols), dtype, nonfinite), label="M")
    terms = math.prod(w.shape[1:])
    y = guarded(op.matvec, v)
    assert not isinstance(y, Refused), f"matvec refused a vector of length {cols}: {y}"
    check_result_array(y, (v, w), shape=(rows,), what="matvec")
    want = oracle_conv(v.reshape((1,) + shape), w, None, geo, out).reshape(-1)
    assert_matches(y, want, dtype=dtype, terms=terms, what="matvec")
    x = guarded(op.rmatvec, u)
    assert not isinstance(x, Refused), f"rmatvec refused a vector of length {rows}: {x}"
    check_result_array(x, (u, w), shape=(cols,), what="rmatvec")
    tgeo = Geometry(geo.k, geo.s, geo.pads, geo.d, None, geo.groups)
    want = oracle_conv_transpose(u.reshape((1, w.shape[0]) + out), w, None, tgeo,
                                 shape[1:]).reshape(-1)
    assert_matches(x, want, dtype=dtype, terms=terms, what="rmatvec")
    Y = guarded(op.matmat, M)
    assert not isinstance(Y, Refused), f"matmat refused a ({cols}, {ncols}) matrix: {Y}"
    check_result_array(Y, (M, w), shape=(rows, ncols), what="matmat")
    if ncols:
        want = oracle_conv(np.ascontiguousarray(M.T).reshape((ncols,) + shape), w, None, geo,
                           out).reshape(ncols, -1).T
        assert_matches(Y, want, dtype=dtype, terms=terms, what="matmat")
    bad = data.draw(st.one_of(wild_array((1, cols))), label="bad vector")
    guarded(op.matvec, bad)


# ---------------------------------------------------------------------------- threads


@fuzz_settings()
@given(st.one_of(st.integers(1, 4), wild_scalars, wild_geometry))
def test_set_num_threads(n):
    before = dk.get_num_threads()
    try:
        result = guarded(dk.set_num_threads, n)
        if isinstance(result, Refused):
            assert dk.get_num_threads() == before, "a refused thread count changed the setting"
            return
        assert is_int(n) and 1 <= n, f"set_num_threads accepted {n!r}"
        assert dk.get_num_threads() == n
        # a call that uses the thread pool must still work
        x, w, kw = _pool_case()
        y = guarded(dk.conv_transpose, x, w, **kw)
        assert not isinstance(y, Refused), f"with {n} threads conv_transpose refused: {y}"
    finally:
        dk.set_num_threads(before)


def _pool_case():
    """A depthwise large-stride problem whose polyphase path uses the thread pool."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 16, 16, 16), dtype=np.float32)
    w = rng.standard_normal((16, 1, 32, 32), dtype=np.float32)
    return x, w, dict(stride=16, padding=8, groups=16, method="polyphase")


def test_set_num_threads_while_other_threads_compute():
    """Changing the thread count while other threads run conv_transpose: no RuntimeError
    ("cannot schedule new futures after shutdown"), the same results."""
    x, w, kw = _pool_case()
    before = dk.get_num_threads()
    want = dk.conv_transpose(x, w, **kw)
    errors, done = [], threading.Event()

    def work():
        try:
            while not done.is_set():
                y = dk.conv_transpose(x, w, **kw)
                if not np.array_equal(y, want):
                    errors.append(AssertionError("a result changed under thread toggling"))
        except BaseException as exc:  # noqa: BLE001 - every escape is the finding
            errors.append(exc)

    workers = [threading.Thread(target=work) for _ in range(3)]
    for t in workers:
        t.start()
    try:
        deadline = time.monotonic() + 2.0
        i = 0
        while time.monotonic() < deadline and not errors:
            dk.set_num_threads(1 + i % 3)
            i += 1
            time.sleep(0.002)
    finally:
        done.set()
        for t in workers:
            t.join(30)
        dk.set_num_threads(before)
    assert not errors, f"{len(errors)} errors, first: {errors[0]!r}"


# ---------------------------------------------------------------------------- nn layers

INITS = ("he", "he_uniform", "glorot", "zeros", "bilinear")


@st.composite
def layer_problems(draw):
    transposed = draw(st.booleans())
    wild = draw(st.integers(0, 3)) == 0
    ndim = draw(st.integers(1, 3))
    G = draw(st.sampled_from([1, 1, 2]))
    cin, cout = G * draw(st.integers(1, 2)), G * draw(st.integers(1, 2))
    k = tuple(draw(st.integers(1, MAX_KERNEL[ndim])) for _ in range(ndim))
    kernel_size = draw(st.sampled_from([k, list(k)] + ([k[0]] if len(set(k)) == 1 else [])))
    kw = dict(
        stride=draw(maybe_wild(per_axis(st.integers(1, 3), ndim), wild)),
        padding=draw(maybe_wild(paddings(ndim), wild)),
        dilation=draw(maybe_wild(per_axis(st.integers(1, 2), ndim), wild)),
        groups=draw(maybe_wild(st.just(G), wild)),
        bias=draw(st.booleans()),
        ndim=ndim if is_int(kernel_size) or draw(st.booleans()) else None,
        init=draw(st.sampled_from(INITS[:2])),
        method=draw(st.sampled_from(("auto",) + METHODS)),
        dtype=draw(st.sampled_from(DTYPES)),
        rng=draw(st.integers(0, 3)),
    )
    if transposed:
        kw["output_padding"] = draw(maybe_wild(
            st.one_of(st.just(0), per_axis(st.integers(0, 2), ndim)), wild))
    channels = [cin, cout]
    if wild:
        which = draw(st.integers(0, 5))
        if which == 0:
            channels[draw(st.integers(0, 1))] = draw(wild_scalars)
        elif which == 1:
            kernel_size = draw(wild_geometry)
        elif which == 2:
            kw["ndim"] = draw(wild_scalars)
        elif which == 3:
            kw["init"] = draw(st.one_of(st.sampled_from(INITS), wild_scalars))
        elif which == 4:
            kw["dtype"] = draw(st.sampled_from([np.int64, np.float16, "float64", None, "x"]))
        else:
            kw["method"] = draw(wild_scalars)
    m = tuple(draw(st.integers(1, MAX_SPATIAL[ndim])) for _ in range(ndim))
    N = draw(st.sampled_from([1, 2, 0]))
    return dict(transposed=transposed, wild=wild, ndim=ndim, channels=channels,
                kernel_size=kernel_size, kw=kw, m=m, N=N, seed=draw(st.integers(0, 2**16)))


@fuzz_settings()
@given(layer_problems())
def test_nn_layers(case):
    from deconvkit import nn
    cls = nn.ConvTranspose if case["transposed"] else nn.Conv
    kw = case["kw"]
    layer = guarded(cls, *case["channels"], case["kernel_size"], **kw)
    name = cls.__name__
    if isinstance(layer, Refused):
        return
    cin, cout = case["channels"]
    assert is_int(cin) and is_int(cout) and cin >= 1 and cout >= 1, \
        f"{name} accepted channels {case['channels']!r}"
    w = layer.weight.data
    if w.size > ORACLE_MAX_ELEMENTS or cin > 64:
        return  # a large layer was built within the memory bound; nothing small to run
    dtype = w.dtype
    assert dtype in (np.float32, np.float64)
    nd = w.ndim - 2
    rng = np.random.default_rng(case["seed"])
    x = rng.choice([-1.0, 0.0, 0.5, 1.0, 2.0], size=(case["N"], cin) + case["m"][:nd] +
                   (1,) * max(0, nd - len(case["m"]))).astype(dtype)
    y = guarded(layer.forward, x)
    b = None if layer.bias is None else layer.bias.data
    G = kw["groups"]

    def ref():
        ref_method(kw["method"], METHODS)
        k = w.shape[2:]
        if case["transposed"]:
            return transpose_geometry(x.shape[2:], k, kw["stride"], kw["padding"],
                                      kw["dilation"], G, kw["output_padding"])
        return conv_geometry(x.shape[2:], k, kw["stride"], kw["padding"], kw["dilation"], G)

    got = judge(y, ref, case["wild"], f"{name}.forward")
    if got is None:
        return
    geo, out = got
    c_out = w.shape[1] * G if case["transposed"] else w.shape[0]
    check_result_array(y, (x, w, b), shape=(x.shape[0], c_out) + out, dtype=dtype,
                       what=f"{name}.forward")
    if y.size > ORACLE_MAX_ELEMENTS:
        return
    oracle = oracle_conv_transpose if case["transposed"] else oracle_conv
    terms = math.prod(w.shape[1:]) if not case["transposed"] else \
        w.shape[0] // G * math.prod(w.shape[2:])
    assert_matches(y, oracle(x, w, b, geo, out), dtype=dtype, terms=terms,
                   what=f"{name}.forward")
    dy = rng.choice([-1.0, 0.5, 1.0], size=y.shape).astype(dtype)
    w_before = w.copy()
    dx = guarded(layer.backward, dy)
    assert not isinstance(dx, Refused), f"{name}.backward refused its own output's gradient"
    assert np.array_equal(layer.weight.data, w_before), f"{name}.backward changed the weight"
    check_result_array(dx, (x, w, dy, layer.weight.grad), shape=x.shape, dtype=dtype,
                       what=f"{name}.backward")
    from fuzz_strategies import _feasible, torch_conv, torch_conv_transpose
    if not _feasible(x.shape[2:] + tuple(out), geo) or x.shape[0] == 0:
        return
    if case["transposed"]:
        _, want_dx, want_dw = torch_conv_transpose(x, w, b, geo, out, dy=dy, grads=True)
    else:
        _, want_dx, want_dw = torch_conv(x, w, b, geo, dy=dy, grads=True)
    assert_matches(dx, want_dx, dtype=dtype, terms=terms * 4, what=f"{name}.backward dx")
    assert_matches(layer.weight.grad, want_dw, dtype=dtype, terms=terms * 8,
                   what=f"{name}.backward weight grad")

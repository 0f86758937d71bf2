"""Property-based fuzz of deconvkit.conventions (issue 10, item 5).

The framework adapters must compute each framework's operation exactly (checked against
PyTorch in float64 on the window the framework's own documented rule gives), refuse bad
arguments with ValueError/TypeError, leave inputs alone and return C-contiguous arrays
that are no views of their inputs. ``framework_call``/``run_call`` must reproduce
``conv_transpose`` for every spec, and ``translate`` must give a call that computes what
the source call computes. See fuzz_strategies.py for the guards.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import deconvkit as dk
from deconvkit import conventions as cv
from fuzz_strategies import (ORACLE_MAX_ELEMENTS, Geometry, Invalid, Refused, _is_seq,
                             assert_matches, check_result_array, float_arrays, fuzz_settings,
                             guarded, is_int, maybe_wild, oracle_conv, oracle_conv_transpose,
                             oracle_window, per_axis, ref_axes, same_pad, wild_geometry,
                             wild_scalars)

ALIASES = ("pytorch", "tf", "TensorFlow", "keras3", "onnxruntime", "ort", "caffe1", "lax",
           "jax.lax", "Torch")
NAMES = {"torch": "torch", "pytorch": "torch", "tensorflow": "tensorflow", "tf": "tensorflow",
         "tensorflow.nn": "tensorflow", "keras": "keras", "keras3": "keras", "onnx": "onnx",
         "onnxruntime": "onnx", "ort": "onnx", "caffe": "caffe", "caffe1": "caffe",
         "jax": "jax", "jax.lax": "jax", "lax": "jax"}


def judge(result, reference, wild, what):
    try:
        ref = reference()
    except Invalid as why:
        assert isinstance(result, Refused), (
            f"{what} accepted arguments its documented rules forbid ({why}); returned "
            f"{type(result).__name__}")
        return None
    if isinstance(result, Refused):
        assert wild, f"{what} refused valid arguments: {result}"
        return None
    return ref


def ref_framework(name):
    if not isinstance(name, str) or name.lower() not in NAMES:
        raise Invalid(f"framework {name!r}")
    return NAMES[name.lower()]


def ref_sizes(value, ndim=None):
    """Spatial sizes: a sequence of ints >= 1, or with ``ndim`` known one int for every
    axis (as ConvSpec's size methods and framework_window take it)."""
    if ndim is not None and is_int(value) and not isinstance(value, np.ndarray) and value >= 1:
        return (int(value),) * ndim
    if not _is_seq(value) or not all(is_int(v) and v >= 1 for v in value) or not len(value):
        raise Invalid(f"input_size={value!r}")
    if ndim is not None and len(value) != ndim:
        raise Invalid(f"input_size={value!r} for {ndim} axes")
    return tuple(int(v) for v in value)


@st.composite
def specs(draw, ndim):
    """A valid small ConvSpec."""
    k = tuple(draw(st.integers(1, 3)) for _ in range(ndim))
    s = tuple(draw(st.integers(1, 3)) for _ in range(ndim))
    d = tuple(draw(st.integers(1, 2)) for _ in range(ndim))
    pads = tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(ndim))
    r = tuple(draw(st.integers(0, max(si, di) - 1)) for si, di in zip(s, d))
    g = draw(st.sampled_from([1, 1, 2]))
    return dk.ConvSpec(k, s, pads, d, g, r)


def _geo(spec):
    return Geometry(spec.kernel_size, spec.stride, spec.padding, spec.dilation,
                    spec.output_padding, spec.groups)


# ---------------------------------------------------------------------------- framework_call


@st.composite
def call_problems(draw):
    wild = draw(st.integers(0, 3)) == 0
    ndim = draw(st.integers(1, 3))
    spec = draw(specs(ndim))
    framework = draw(st.sampled_from(tuple(cv.FRAMEWORKS) + ALIASES))
    m = tuple(draw(st.integers(1, 5)) for _ in range(ndim))
    as_window = draw(st.booleans())
    target = cv.TransposeWindow.from_spec(spec) if as_window else spec
    if wild:
        which = draw(st.integers(0, 2))
        if which == 0:
            framework = draw(st.one_of(wild_scalars, st.just("mxnet")))
        elif which == 1:
            target = draw(st.one_of(wild_scalars, st.just(spec.kernel_size)))
        else:
            m = draw(st.one_of(wild_geometry, st.tuples(*[st.sampled_from(
                [0, -1, 1, 2, 10**6, 2**63]) for _ in range(ndim)])))
    cin = spec.groups * draw(st.integers(1, 2))
    x = draw(float_arrays((draw(st.integers(0, 2)), cin) + (m if isinstance(m, tuple) and
                                                           all(is_int(v) and 1 <= v <= 5
                                                               for v in m) else (1,) * ndim),
                          np.float64, draw(st.booleans())))
    w = draw(float_arrays((cin, draw(st.integers(1, 2))) + spec.kernel_size, np.float64))
    return dict(wild=wild, framework=framework, target=target, spec=spec, m=m, x=x, w=w)


@fuzz_settings()
@given(call_problems())
def test_framework_call_and_run_call(case):
    target, m = case["target"], case["m"]
    call = guarded(cv.framework_call, case["framework"], target, m)

    def ref():
        ref_framework(case["framework"])
        if not isinstance(target, (dk.ConvSpec, cv.TransposeWindow)):
            raise Invalid(f"spec={target!r}")
        sizes = ref_sizes(m, case["spec"].ndim)
        return sizes, _geo(case["spec"]).transpose_out(sizes)

    sizes = judge(call, ref, case["wild"], "framework_call")
    if sizes is None:
        return
    sizes, out = sizes
    assert isinstance(call, cv.FrameworkCall), type(call)
    assert isinstance(call.code(), str) and call.code()
    assert call.final_size == out, f"final size {call.final_size}, expected {out}"
    x, w = case["x"], case["w"]
    if x.shape[2:] != sizes or math.prod(out) * w.shape[1] > ORACLE_MAX_ELEMENTS:
        return
    y = guarded(cv.run_call, call, x, w)
    assert not isinstance(y, Refused), f"run_call refused its own call: {y}"
    geo = _geo(case["spec"])
    check_result_array(y, (x, w), shape=(x.shape[0], w.shape[1] * geo.groups) + out,
                       dtype=np.float64, what=f"run_call({call.framework})")
    w_run, geo_run = _as_framework_runs(call, w, geo)
    want = oracle_conv_transpose(x, w_run, None, geo_run, out)
    assert_matches(y, want, dtype=np.float64, terms=w.shape[0] * math.prod(w.shape[2:]),
                   what=f"run_call({call.framework})")


def _as_framework_runs(call, w, geo):
    """The weight and geometry the framework itself runs: a block-diagonal weight without
    groups (TensorFlow, Keras, JAX), zeros inserted into the kernel without dilation. For
    finite values the same products as ``geo``; a NaN or Inf of one group's input also
    meets the zero blocks (and inserted zeros) there, and 0 * NaN is NaN in the framework
    as in PyTorch, so that is the reference."""
    k, d, groups = geo.k, geo.d, geo.groups
    if call.weight_groups != 1:
        c_in, per = w.shape[:2]
        size = c_in // groups
        dense = np.zeros((c_in, per * groups) + w.shape[2:])
        for g in range(groups):
            dense[g * size:(g + 1) * size, g * per:(g + 1) * per] = w[g * size:(g + 1) * size]
        w, groups = dense, 1
    if call.weight_dilation is not None:
        k = tuple((ki - 1) * di + 1 for ki, di in zip(k, d))
        dilated = np.zeros(w.shape[:2] + k)
        dilated[(slice(None), slice(None)) + tuple(slice(None, None, di) for di in d)] = w
        w, d = dilated, (1,) * len(k)
    return w, Geometry(k, geo.s, geo.pads, d, geo.r, groups)


# ---------------------------------------------------------------------------- translate


@st.composite
def translate_problems(draw):
    wild = draw(st.integers(0, 3)) == 0
    ndim = draw(st.integers(1, 3))
    source = draw(st.sampled_from(cv.FRAMEWORKS))
    target = draw(st.sampled_from(tuple(cv.FRAMEWORKS) + ALIASES))
    m = tuple(draw(st.integers(1, 5)) for _ in range(ndim))
    k = tuple(draw(st.integers(1, 3)) for _ in range(ndim))
    generic = dict(
        stride=draw(maybe_wild(per_axis(st.integers(1, 3), ndim), wild)),
        padding=draw(maybe_wild(st.one_of(
            st.none(), st.integers(0, 2), st.sampled_from(["same", "valid", "SAME_LOWER",
                                                           "same_upper", "notset"]),
            st.tuples(*[st.tuples(st.integers(0, 2), st.integers(0, 2))] * ndim)), wild)),
        dilation=draw(maybe_wild(per_axis(st.integers(1, 2), ndim), wild)),
        output_padding=draw(maybe_wild(st.one_of(st.none(), st.integers(0, 1)), wild)),
        output_size=draw(maybe_wild(st.one_of(st.none(), st.tuples(
            *[st.integers(1, 12)] * ndim)), wild)),
        groups=draw(maybe_wild(st.sampled_from([1, 1, 2]), wild)),
        consistent_padding=draw(st.booleans()),
    )
    raw = None
    if draw(st.integers(0, 2)) == 0:   # the framework's own keywords, drawn directly
        keys = {"torch": ["stride", "padding", "output_padding", "groups", "dilation",
                          "output_size"],
                "tensorflow": ["output_size", "strides", "padding", "dilations"],
                "keras": ["strides", "padding", "output_padding", "dilation_rate"],
                "onnx": ["auto_pad", "dilations", "group", "output_padding", "output_shape",
                         "pads", "strides"],
                "caffe": ["stride", "pad", "dilation", "group"],
                "jax": ["strides", "padding", "rhs_dilation", "use_consistent_padding"]}[source]
        chosen = draw(st.lists(st.sampled_from(keys), unique=True))
        raw = {key: draw(st.one_of(per_axis(st.integers(0, 3), ndim), wild_geometry,
                                   st.sampled_from(["SAME", "VALID", "same", "SAME_UPPER"])))
               for key in chosen}
    cin = draw(st.integers(1, 2)) * 2
    x = draw(float_arrays((1, cin) + m, np.float64))
    w = draw(float_arrays((cin, 1) + k, np.float64))
    if wild and draw(st.booleans()):
        m = draw(wild_geometry)
    return dict(wild=wild, source=source, target=target, m=m, k=k, generic=generic, raw=raw,
                x=x, w=w)


@fuzz_settings()
@given(translate_problems())
def test_translate(case):
    source, target, m, k = case["source"], case["target"], case["m"], case["k"]
    if case["raw"] is None:
        args = guarded(cv.window_args, source, m, k, **case["generic"])
        if isinstance(args, Refused):
            return
        assert isinstance(args, dict), f"window_args returned {args!r}"
    else:
        args = case["raw"]
    t = guarded(cv.translate, source, target, m, k, **args)
    if isinstance(t, Refused):
        return
    assert isinstance(t.text(), str)
    try:
        sizes = ref_sizes(m, len(k))
    except Invalid as why:
        raise AssertionError(f"translate accepted {why}") from None
    out = t.window.output_size(sizes)
    assert all(type(v) is int and v >= 1 for v in out), f"output size {out}"
    assert t.call.final_size == out, f"translated call gives {t.call.final_size}, source {out}"
    x, w = case["x"], case["w"]
    if x.shape[2:] != sizes or t.window.groups != 1 or \
            math.prod(out) * w.shape[1] > ORACLE_MAX_ELEMENTS:
        return
    y_target = guarded(cv.run_call, t.call, x, w)
    y_source = guarded(cv.run_call, t.source_call, x, w)
    assert not isinstance(y_target, Refused), y_target
    assert not isinstance(y_source, Refused), y_source
    for y in (y_target, y_source):
        check_result_array(y, (x, w), what="run_call")
    # both equal the window of the full scatter the source's rule gives
    win = t.window
    want = oracle_window(x, w, None, win.stride, win.dilation, 1,
                         [lo for lo, _ in win.crop], out)
    assert_matches(y_source, want, dtype=np.float64, what=f"{source} call")
    assert_matches(y_target, want, dtype=np.float64, what=f"{source} -> {target} call")


# ---------------------------------------------------------------------------- adapters


@st.composite
def adapter_problems(draw, framework):
    """x, w in deconvkit's layouts, and a geometry drawn valid-leaning or wild."""
    wild = draw(st.integers(0, 3)) == 0
    ndim = draw(st.integers(1, 3)) if framework not in ("tf_explicit",) else 2
    G = 1 if framework in ("tf", "tf_explicit", "keras", "jax") else \
        draw(st.sampled_from([1, 1, 2]))
    cin, cog = G * draw(st.integers(1, 2)), draw(st.integers(1, 2))
    k = tuple(draw(st.integers(1, 3)) for _ in range(ndim))
    m = tuple(draw(st.integers(1, 5)) for _ in range(ndim))
    N = draw(st.sampled_from([1, 1, 2, 0]))
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    x = draw(float_arrays((N, cin) + m, dtype, draw(st.integers(0, 3)) == 0))
    w = draw(float_arrays((cin, cog) + k, dtype))
    b = draw(st.one_of(st.none(), float_arrays((G * cog,), dtype)))
    s = draw(maybe_wild(per_axis(st.integers(1, 3), ndim), wild))
    d = draw(maybe_wild(per_axis(st.integers(1, 2), ndim), wild))
    return dict(wild=wild, ndim=ndim, G=G, x=x, w=w, b=b, s=s, d=d, k=k, m=m, N=N,
                dtype=dtype)


def _check_adapter(result, reference, case, what, inputs, oracle_fn):
    ref = judge(result, reference, case["wild"], what)
    if ref is None:
        return
    shape = ref
    check_result_array(result, inputs, shape=shape, dtype=case["dtype"], what=what)
    if 0 < math.prod(shape) <= ORACLE_MAX_ELEMENTS:
        assert_matches(result, oracle_fn(), dtype=case["dtype"],
                       terms=math.prod(case["w"].shape) // case["w"].shape[1], what=what)


@fuzz_settings()
@given(adapter_problems("torch"), st.data())
def test_torch_conv_transpose(case, data):
    nd = case["ndim"]
    draw = data.draw
    p = draw(maybe_wild(per_axis(st.integers(0, 2), nd), case["wild"]), label="padding")
    r = draw(maybe_wild(st.one_of(st.just(0), per_axis(st.integers(0, 2), nd)), case["wild"]),
             label="output_padding")
    out_size = draw(st.one_of(st.none(), st.none(), st.tuples(*[st.integers(1, 14)] * nd),
                              maybe_wild(st.none(), case["wild"])), label="output_size")
    x, w, b, G = case["x"], case["w"], case["b"], case["G"]
    unbatched = case["N"] == 1 and draw(st.booleans(), label="unbatched")
    xin = x[0] if unbatched else x
    y = guarded(cv.torch_conv_transpose, xin, w, b, stride=case["s"], padding=p,
                output_padding=r, groups=G, dilation=case["d"], output_size=out_size)
    state = {}

    def ref():
        if isinstance(p, str) or (_is_seq(p) and any(not is_int(v) for v in p)):
            raise Invalid(f"padding={p!r}")
        ref_axes(r, nd, "output_padding", minimum=0)
        from fuzz_strategies import transpose_geometry
        geo, out = transpose_geometry(case["m"], case["k"], case["s"], p, case["d"], G,
                                      0 if out_size is not None else r, out_size)
        if out_size is not None and any(ri >= si for ri, si in zip(geo.r, geo.s)):
            # nn.ConvTransposeNd._output_padding: sizes from min to min + stride - 1 (not
            # max(stride, dilation) as for output_padding)
            raise Invalid(f"output_size {out} beyond min + stride - 1")
        state["geo"], state["out"] = geo, out
        shape = (x.shape[0], w.shape[1] * G) + out
        return shape[1:] if unbatched else shape

    def oracle():
        want = oracle_conv_transpose(x, w, b, state["geo"], state["out"])
        return want[0] if unbatched else want

    _check_adapter(y, ref, case, "torch_conv_transpose", (x, w, b), oracle)


@fuzz_settings()
@given(adapter_problems("caffe"), st.data())
def test_caffe_deconvolution(case, data):
    nd = case["ndim"]
    pad = data.draw(maybe_wild(st.one_of(st.integers(0, 2), st.lists(
        st.integers(0, 2), min_size=nd, max_size=nd)), case["wild"]), label="pad")
    ks = data.draw(maybe_wild(st.sampled_from(
        [case["k"], list(case["k"])] + ([case["k"][0]] if len(set(case["k"])) == 1 else [])),
        case["wild"]), label="kernel_size")
    x, w, b, G = case["x"], case["w"], case["b"], case["G"]
    y = guarded(cv.caffe_deconvolution, x, w, b, kernel_size=ks, stride=case["s"], pad=pad,
                dilation=case["d"], group=G)
    state = {}

    def caffe_axes(v, name, minimum):
        if is_int(v) or (_is_seq(v) and len(v) == 1):
            v = v if is_int(v) else v[0]
        return ref_axes(v, nd, name, minimum)

    def ref():
        k = caffe_axes(ks, "kernel_size", 1)
        if k != case["k"]:
            raise Invalid("kernel_size")
        s, d = caffe_axes(case["s"], "stride", 1), caffe_axes(case["d"], "dilation", 1)
        p = caffe_axes(pad, "pad", 0)
        geo = Geometry(k, s, tuple((v, v) for v in p), d, None, G)
        out = geo.transpose_out(case["m"])
        state["geo"], state["out"] = geo, out
        return (x.shape[0], w.shape[1] * G) + out

    _check_adapter(y, ref, case, "caffe_deconvolution", (x, w, b),
                   lambda: oracle_conv_transpose(x, w, b, state["geo"], state["out"]))


def _onnx_attr(value, length, name, default, minimum):
    if value is None:
        return (default,) * length
    if not _is_seq(value) or len(value) != length or not all(is_int(v) for v in value):
        raise Invalid(f"{name}={value!r}")
    items = tuple(int(v) for v in value)
    if any(v < minimum for v in items):
        raise Invalid(f"{name}={value!r}")
    return items


@st.composite
def onnx_attrs(draw, case):
    nd, wild = case["ndim"], case["wild"]
    lists = lambda lo, hi, n: st.one_of(st.none(), st.lists(st.integers(lo, hi), min_size=n,
                                                            max_size=n))
    return dict(
        strides=draw(maybe_wild(lists(1, 3, nd), wild)),
        dilations=draw(maybe_wild(lists(1, 2, nd), wild)),
        pads=draw(maybe_wild(lists(0, 2, 2 * nd), wild)),
        auto_pad=draw(maybe_wild(st.sampled_from(["NOTSET", "NOTSET", "SAME_UPPER",
                                                  "SAME_LOWER", "VALID"]), wild)),
    )


@fuzz_settings()
@given(adapter_problems("onnx"), st.data())
def test_onnx_conv(case, data):
    attrs = data.draw(onnx_attrs(case), label="attributes")
    x, G = case["x"], case["G"]
    # ONNX Conv weight (M, C/group, *k)
    w = np.ascontiguousarray(case["w"].reshape((G, -1) + case["w"].shape[1:])
                             .swapaxes(1, 2).reshape((-1, case["w"].shape[0] // G) +
                                                     case["w"].shape[2:]))
    b = None if case["b"] is None or case["b"].shape[0] != w.shape[0] else case["b"]
    y = guarded(cv.onnx_conv, x, w, b, group=G, **attrs)
    state = {}

    def ref():
        nd = case["ndim"]
        s = _onnx_attr(attrs["strides"], nd, "strides", 1, 1)
        d = _onnx_attr(attrs["dilations"], nd, "dilations", 1, 1)
        mode = attrs["auto_pad"]
        if not isinstance(mode, str) or mode not in ("NOTSET", "SAME_UPPER", "SAME_LOWER",
                                                     "VALID"):
            raise Invalid(f"auto_pad={mode!r}")
        if attrs["pads"] is not None and mode != "NOTSET":
            raise Invalid("pads with auto_pad")
        flat = _onnx_attr(attrs["pads"], 2 * nd, "pads", 0, 0)
        if mode == "VALID":
            pads = ((0, 0),) * nd
        elif mode == "NOTSET":
            pads = tuple(zip(flat[:nd], flat[nd:]))
        else:
            up = [same_pad(n, ki, si, di) for n, ki, si, di in zip(case["m"], case["k"], s, d)]
            pads = tuple(up) if mode == "SAME_UPPER" else tuple(p[::-1] for p in up)
        geo = Geometry(case["k"], s, pads, d, None, G)
        out = geo.conv_out(case["m"])
        state["geo"], state["out"] = geo, out
        return (x.shape[0], w.shape[0]) + out

    _check_adapter(y, ref, case, "onnx_conv", (x, w, b),
                   lambda: oracle_conv(x, w, b, state["geo"], state["out"]))


@fuzz_settings()
@given(adapter_problems("onnx"), st.data())
def test_onnx_conv_transpose(case, data):
    attrs = data.draw(onnx_attrs(case), label="attributes")
    nd = case["ndim"]
    attrs["output_padding"] = data.draw(maybe_wild(st.one_of(
        st.none(), st.lists(st.integers(0, 2), min_size=nd, max_size=nd)), case["wild"]))
    attrs["output_shape"] = data.draw(maybe_wild(st.one_of(
        st.none(), st.none(), st.lists(st.integers(1, 16), min_size=nd, max_size=nd)),
        case["wild"]))
    x, w, b, G = case["x"], case["w"], case["b"], case["G"]
    y = guarded(cv.onnx_conv_transpose, x, w, b, group=G, **attrs)
    state = {}

    def ref():
        s = _onnx_attr(attrs["strides"], nd, "strides", 1, 1)
        d = _onnx_attr(attrs["dilations"], nd, "dilations", 1, 1)
        r = _onnx_attr(attrs["output_padding"], nd, "output_padding", 0, 0)
        if any(ri >= max(si, di) for ri, si, di in zip(r, s, d)):
            raise Invalid("output_padding")
        mode = attrs["auto_pad"]
        if not isinstance(mode, str) or mode not in ("NOTSET", "SAME_UPPER", "SAME_LOWER",
                                                     "VALID"):
            raise Invalid(f"auto_pad={mode!r}")
        if attrs["pads"] is not None and mode != "NOTSET":
            raise Invalid("pads with auto_pad")
        flat = _onnx_attr(attrs["pads"], 2 * nd, "pads", 0, 0)
        e = [di * (ki - 1) + 1 for ki, di in zip(case["k"], d)]
        full = [(mi - 1) * si + ei for mi, si, ei in zip(case["m"], s, e)]
        shape = attrs["output_shape"]
        if shape is not None:
            shape = _onnx_attr(shape, nd, "output_shape", 1, 1)
        elif mode in ("SAME_UPPER", "SAME_LOWER"):
            shape = tuple(mi * si for mi, si in zip(case["m"], s))
        starts, sizes = [], []
        for axis in range(nd):
            if shape is None:
                lo, hi = (0, 0) if mode == "VALID" else (flat[axis], flat[nd + axis])
                starts.append(lo)
                sizes.append(full[axis] - lo - hi + r[axis])
                continue
            total = full[axis] + r[axis] - shape[axis]
            if total >= 0:
                starts.append(total // 2 if mode == "SAME_UPPER" else total - total // 2)
            else:
                if shape[axis] - full[axis] >= max(s[axis], d[axis]):
                    raise Invalid("output_shape beyond the full size")
                starts.append(0)
            sizes.append(shape[axis])
        if any(v < 1 for v in sizes):
            raise Invalid("no output")
        state.update(s=s, d=d, starts=starts, sizes=tuple(sizes))
        return (x.shape[0], w.shape[1] * G) + tuple(sizes)

    _check_adapter(y, ref, case, "onnx_conv_transpose", (x, w, b),
                   lambda: oracle_window(x, w, b, state["s"], state["d"], G, state["starts"],
                                         state["sizes"]))


@fuzz_settings()
@given(adapter_problems("tf"), st.data())
def test_tf_conv_transpose(case, data):
    nd, wild = case["ndim"], case["wild"]
    x, w = case["x"], case["w"]
    channels_last = data.draw(st.booleans())
    padding = data.draw(maybe_wild(st.sampled_from(["SAME", "VALID"]), wild), label="padding")
    s = case["s"] if is_int(case["s"]) or not _is_seq(case["s"]) else list(case["s"])
    d = data.draw(maybe_wild(st.one_of(st.none(), st.just(1)), wild), label="dilations")
    # output size: drawn inside or near the valid range
    try:
        ss = ref_axes(case["s"], nd, "strides")
    except Invalid:
        ss = (1,) * nd
    e = case["k"]
    same = isinstance(padding, str) and padding == "SAME"
    lo_hi = [((mi - 1) * si + 1, mi * si) if same else
             ((mi - 1) * si + ei, (mi - 1) * si + ei + si - 1)
             for mi, si, ei in zip(case["m"], ss, e)]
    no = tuple(data.draw(st.integers(max(1, a - 1), b + 1)) for a, b in lo_hi)
    c_out = w.shape[1]
    shape = (x.shape[0],) + no + (c_out,) if channels_last else (x.shape[0], c_out) + no
    shape = data.draw(maybe_wild(st.just(shape), wild), label="output_shape")
    fmt = {1: ("NWC", "NCW"), 2: ("NHWC", "NCHW"), 3: ("NDHWC", "NCDHW")}[nd]
    data_format = fmt[0] if channels_last else fmt[1]
    xin = np.ascontiguousarray(np.moveaxis(x, 1, -1)) if channels_last else x
    filters = np.ascontiguousarray(np.moveaxis(w, (0, 1), (-1, -2)))  # [*k, out, in]
    y = guarded(cv.tf_conv_transpose, xin, filters, shape, s, padding,
                data_format=data.draw(st.sampled_from([data_format, None])
                                      if channels_last else st.just(data_format)),
                dilations=d)
    state = {}

    def ref():
        if not _is_seq(shape) or len(shape) != nd + 2 or not all(is_int(v) for v in shape):
            raise Invalid(f"output_shape={shape!r}")
        batch, cc = (shape[0], shape[-1]) if channels_last else (shape[0], shape[1])
        spatial = tuple(shape[1:-1]) if channels_last else tuple(shape[2:])
        if batch != x.shape[0] or cc != c_out or any(v < 1 for v in spatial):
            raise Invalid("output_shape batch/channels/sizes")
        strides = _tf_axes(s, nd, channels_last, "strides")
        dil = (1,) * nd if d is None else _tf_axes(d, nd, channels_last, "dilations")
        if not isinstance(padding, str) or padding not in ("SAME", "VALID"):
            raise Invalid(f"padding={padding!r}")
        starts = []
        for n, mi, ki, si, di in zip(spatial, case["m"], case["k"], strides, dil):
            ei = di * (ki - 1) + 1
            lo, hi = same_pad(n, ki, si, di) if padding == "SAME" else (0, 0)
            computed = -(-n // si) if padding == "SAME" else \
                ((n - ei) // si + 1 if n >= ei else 0)
            if computed != mi:
                raise Invalid("output_shape inconsistent with the input")
            starts.append(lo)
        state.update(s=strides, d=dil, starts=starts, sizes=spatial)
        return tuple(shape)

    def oracle():
        want = oracle_window(x, w, None, state["s"], state["d"], 1, state["starts"],
                             state["sizes"])
        return np.moveaxis(want, 1, -1) if channels_last else want

    _check_adapter(y, ref, case, "tf_conv_transpose", (xin, filters), oracle)


def _tf_axes(value, nd, channels_last, name):
    """TensorFlow's ``_get_sequence``: None (ones), 1, N or N + 2 values (the N + 2 form
    1 at N and C)."""
    if value is None:
        return (1,) * nd
    if _is_seq(value) and len(value) == 1:
        value = value[0]
    if _is_seq(value) and len(value) == nd + 2:
        items = list(value)
        outer = (items[0], items[-1]) if channels_last else (items[0], items[1])
        if any(not is_int(v) or v != 1 for v in outer):
            raise Invalid(f"{name}={value!r}")
        value = items[1:-1] if channels_last else items[2:]
    return ref_axes(value, nd, name)


def _keras_pads(k, s, d, padding, op):
    """Keras' ``_convert_conv_tranpose_padding_args_from_keras_to_jax`` for one axis."""
    e = (k - 1) * d + 1
    if padding == "valid":
        op = max(e, s) - e if op is None else op
        return e - 1, e - 1 + op
    pad_len = s + e - 2 if op is None else e + e % 2 - 2 + op
    left = min(pad_len // 2 + pad_len % 2, e - 1)
    return left, pad_len - left


@fuzz_settings()
@given(adapter_problems("keras"), st.data())
def test_keras_conv_transpose(case, data):
    nd, wild = case["ndim"], case["wild"]
    x, w, b = case["x"], case["w"], case["b"]
    padding = data.draw(maybe_wild(st.sampled_from(["valid", "same", "SAME"]), wild))
    op = data.draw(maybe_wild(st.one_of(st.none(), st.integers(0, 2)), wild))
    channels_last = data.draw(st.booleans())
    xin = np.ascontiguousarray(np.moveaxis(x, 1, -1)) if channels_last else x
    kernel = np.ascontiguousarray(np.moveaxis(w, (0, 1), (-1, -2)))  # (*k, filters, in)
    y = guarded(cv.keras_conv_transpose, xin, kernel, b, strides=case["s"], padding=padding,
                output_padding=op, dilation_rate=case["d"],
                data_format="channels_last" if channels_last else "channels_first")
    state = {}

    def ref():
        if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
            raise Invalid(f"padding={padding!r}")
        s = ref_axes(case["s"], nd, "strides")
        d = ref_axes(case["d"], nd, "dilation_rate")
        ops = (None,) * nd if op is None else ref_axes(op, nd, "output_padding", minimum=0)
        if any(o is not None and o >= si for o, si in zip(ops, s)):
            raise Invalid("output_padding >= strides")
        if max(s) > 1 and max(d) > 1:
            raise Invalid("strides > 1 with dilation_rate > 1")
        starts, sizes = [], []
        for mi, ki, si, di, o in zip(case["m"], case["k"], s, d, ops):
            a, bb = _keras_pads(ki, si, di, padding.lower(), o)
            e = (ki - 1) * di + 1
            starts.append(e - 1 - a)
            sizes.append((mi - 1) * si + 1 + a + bb - e + 1)
        if any(v < 0 for v in sizes):
            raise Invalid("negative output size")
        state.update(s=s, d=d, starts=starts, sizes=tuple(sizes))
        c = w.shape[1]
        return (x.shape[0],) + tuple(sizes) + (c,) if channels_last else \
            (x.shape[0], c) + tuple(sizes)

    def oracle():
        want = oracle_window(x, w, b, state["s"], state["d"], 1, state["starts"],
                             state["sizes"])
        return np.moveaxis(want, 1, -1) if channels_last else want

    _check_adapter(y, ref, case, "keras_conv_transpose", (xin, kernel, b), oracle)


def _jax_pads(e, s, padding):
    """``jax.lax._conv_transpose_padding``."""
    if padding == "SAME":
        pad_len = e + s - 2
        a = e - 1 if s > e - 1 else -(-pad_len // 2)
    else:
        pad_len = e + s - 2 + max(e - s, 0)
        a = e - 1
    return a, pad_len - a


@fuzz_settings()
@given(adapter_problems("jax"), st.data())
def test_jax_conv_transpose(case, data):
    nd, wild = case["ndim"], case["wild"]
    x, w = case["x"], case["w"]
    padding = data.draw(maybe_wild(st.one_of(
        st.sampled_from(["SAME", "VALID"]),
        st.tuples(*[st.tuples(st.integers(-2, 3), st.integers(-2, 3))] * nd)), wild))
    transpose_kernel = data.draw(st.booleans())
    strides = data.draw(maybe_wild(st.tuples(*[st.integers(1, 3)] * nd), wild))
    rhs_dilation = data.draw(maybe_wild(st.one_of(st.none(), st.tuples(
        *[st.integers(1, 2)] * nd)), wild))
    lhs = np.ascontiguousarray(np.moveaxis(x, 1, -1))           # NHC / NHWC / NHWDC
    # rhs in the default (*k, I, O) layout; its O/I roles as given to JAX
    kern = w.swapaxes(0, 1) if not transpose_kernel else w     # (O, I, *k) roles
    rhs = np.ascontiguousarray(np.moveaxis(kern, (0, 1), (-1, -2)))
    y = guarded(cv.jax_conv_transpose, lhs, rhs, strides, padding, rhs_dilation,
                transpose_kernel=transpose_kernel)
    state = {}

    def ref():
        s = tuple(int(v) for v in strides) if _is_seq(strides) and len(strides) == nd and \
            all(is_int(v) and v >= 1 for v in strides) else None
        if s is None:
            raise Invalid(f"strides={strides!r}")
        d = (1,) * nd if rhs_dilation is None else (
            tuple(int(v) for v in rhs_dilation) if _is_seq(rhs_dilation) and
            len(rhs_dilation) == nd and all(is_int(v) and v >= 1 for v in rhs_dilation)
            else None)
        if d is None:
            raise Invalid(f"rhs_dilation={rhs_dilation!r}")
        e = [di * (ki - 1) + 1 for ki, di in zip(case["k"], d)]
        if isinstance(padding, str):
            if padding not in ("SAME", "VALID"):
                raise Invalid(f"padding={padding!r}")
            pads = [_jax_pads(ei, si, padding) for ei, si in zip(e, s)]
        else:
            if not _is_seq(padding) or len(padding) != nd or not all(
                    _is_seq(p) and len(p) == 2 and all(is_int(v) for v in p) for p in padding):
                raise Invalid(f"padding={padding!r}")
            pads = [tuple(int(v) for v in p) for p in padding]
        sizes, starts = [], []
        for mi, si, ei, (a, bb) in zip(case["m"], s, e, pads):
            dil = (mi - 1) * si + 1
            if dil + a + bb < 0:
                raise Invalid("negative padding larger than the input")
            sizes.append(max(dil + a + bb - ei + 1, 0))
            starts.append(ei - 1 - a)
        state.update(s=s, d=d, starts=starts, sizes=tuple(sizes))
        return (x.shape[0],) + tuple(sizes) + (w.shape[1],)

    def oracle():
        # the fractionally strided view: zeros between inputs, pad (a, b), correlate with
        # the kernel (flipped and I/O-swapped by JAX when transpose_kernel)
        want = oracle_window(x, w if transpose_kernel else np.flip(w, tuple(range(2, w.ndim))),
                             None, state["s"], state["d"], 1, state["starts"], state["sizes"])
        return np.moveaxis(want, 1, -1)

    _check_adapter(y, ref, case, "jax_conv_transpose", (lhs, rhs), oracle)


# ---------------------------------------------------------------------------- small helpers


@fuzz_settings()
@given(st.integers(1, 3), st.integers(1, 3), st.data())
def test_weight_helpers(ndim, groups, data):
    wild = data.draw(st.booleans(), label="wild")
    k = tuple(data.draw(st.integers(1, 3)) for _ in range(ndim))
    w = data.draw(float_arrays((groups * 2, data.draw(st.integers(1, 2))) + k, np.float64,
                               data.draw(st.booleans())))
    dil = data.draw(maybe_wild(per_axis(st.integers(1, 3), ndim), wild), label="dilation")
    y = guarded(cv.dilated_weight, w, dil)
    try:
        d = ref_axes(dil, ndim, "dilation")
    except Invalid as why:
        assert isinstance(y, Refused), f"dilated_weight accepted {why}"
    else:
        if isinstance(y, Refused) and (max(d) > 10**4 or _zero_d(dil)):
            y = None  # a refusal of a huge kernel is fine (its message was checked), and
            # so is one of a 0-d array (drawn in wild mode only), as everywhere in the fuzz
        assert not isinstance(y, Refused), f"dilated_weight refused valid dilation: {y}"
    if y is not None and not isinstance(y, Refused):
        want = np.zeros(w.shape[:2] + tuple((ki - 1) * di + 1 for ki, di in zip(k, d)))
        want[(slice(None), slice(None)) + tuple(slice(None, None, di) for di in d)] = w
        check_result_array(y, (w,), shape=want.shape, dtype=w.dtype, what="dilated_weight")
        assert np.array_equal(y, want, equal_nan=True), "dilated_weight values"
    g = data.draw(maybe_wild(st.integers(1, 4), wild), label="groups")
    y = guarded(cv.block_diagonal_weight, w, g)
    if is_int(g) and 1 <= g <= w.shape[0] and w.shape[0] % g == 0 and not (
            _zero_d(g) and isinstance(y, Refused)):
        assert not isinstance(y, Refused), f"block_diagonal_weight refused groups={g}: {y}"
        per, size = w.shape[1], w.shape[0] // g
        want = np.zeros((w.shape[0], per * g) + k)
        for i in range(g):
            want[i * size:(i + 1) * size, i * per:(i + 1) * per] = w[i * size:(i + 1) * size]
        check_result_array(y, (w,), shape=want.shape, dtype=w.dtype, what="block_diagonal")
        assert np.array_equal(y, want, equal_nan=True)
    elif not _zero_d(g):
        assert isinstance(y, Refused), f"block_diagonal_weight accepted groups={g!r}"
    fix = data.draw(maybe_wild(st.tuples(*[st.tuples(st.integers(-2, 3), st.integers(-2, 3))]
                                         * ndim), wild), label="fixup")
    y = guarded(cv.apply_fixup, w, fix)
    if not isinstance(y, Refused):
        check_result_array(y, (w,), dtype=w.dtype, what="apply_fixup")


def _zero_d(value):
    """A 0-d array, or a sequence holding one: fuzz_strategies.is_int takes a 0-d integer
    array for an int (operator.index), the library's is_int does not; like every wild
    value, it may be accepted or refused."""
    if isinstance(value, np.ndarray):
        return value.ndim == 0
    return isinstance(value, (tuple, list)) and any(_zero_d(v) for v in value)


layers = st.one_of(
    st.tuples(st.sampled_from(["Convolution", "Pooling", "Deconvolution"]),
              st.integers(1, 5), st.integers(1, 4), st.integers(0, 3)),
    st.tuples(st.sampled_from(["Convolution", "Deconvolution"]), st.integers(1, 5),
              st.integers(1, 4), st.integers(0, 3), st.integers(1, 3)),
    st.just(("ReLU",)),
    st.tuples(st.sampled_from(["Convolution", "Deconvolution", "Crop", ""]),
              wild_scalars, wild_scalars, wild_scalars),
    wild_geometry,
)


@fuzz_settings()
@given(st.lists(layers, max_size=4), st.lists(layers, max_size=3))
def test_fcn_crop_offset(cropped, reference):
    result = guarded(cv.fcn_crop_offset, cropped, reference)
    if not isinstance(result, Refused):
        assert type(result) is int and result >= 0, f"fcn_crop_offset returned {result!r}"


@fuzz_settings()
@given(st.one_of(st.sampled_from(tuple(cv.FRAMEWORKS) + ALIASES), wild_scalars),
       st.one_of(st.tuples(st.integers(1, 9)), st.tuples(st.integers(1, 9), st.integers(1, 9)),
                 wild_geometry),
       st.one_of(st.just((3,)), st.just((3, 3)), wild_geometry),
       st.sampled_from([None, "NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID", "same", 1]),
       st.one_of(st.none(), wild_geometry))
def test_onnx_conv_pads_and_names(framework, size, kernel, auto_pad, strides):
    name = guarded(cv.canonical_name, framework)
    if not isinstance(name, Refused):
        assert name == ref_framework(framework)
    pads = guarded(cv.onnx_conv_pads, size, kernel, auto_pad=auto_pad or "NOTSET",
                   strides=strides)
    if not isinstance(pads, Refused):
        assert isinstance(pads, tuple) and all(
            isinstance(p, tuple) and len(p) == 2 and all(is_int(v) and v >= 0 for v in p)
            for p in pads), f"onnx_conv_pads returned {pads!r}"

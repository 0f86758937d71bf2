"""jax_conv_transpose and jax_call against ``jax.lax.conv_transpose`` (skipped without jax)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import deconvkit as dk
from deconvkit.conventions import framework_call, jax_conv_transpose, tf_conv_transpose
from deconvkit.testing import conv_cases, random_arrays, rel_error

jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)
lax = jax.lax

NUMBERS = {1: [None, ("NCH", "OIH", "NCH"), ("NHC", "IHO", "NCH")],
           2: [None, ("NCHW", "OIHW", "NCHW"), ("NHWC", "OIWH", "NCWH")],
           3: [None, ("NCHWD", "OIHWD", "NCHWD")]}


def layout_shape(canonical, spec, pair):
    """Shape in a dimension-number string from (a, b, *spatial) in rhs spatial order."""
    out = [0] * len(spec)
    out[spec.index(pair[0])], out[spec.index(pair[1])] = canonical[0], canonical[1]
    spatial = [c for c in spec if c not in pair]
    return tuple(out), spatial


@st.composite
def jax_problems(draw):
    ndim = draw(st.sampled_from((1, 2, 3)))
    small = ndim == 3
    k = [draw(st.integers(1, 3 if small else 4)) for _ in range(ndim)]
    s = [draw(st.integers(1, 3)) for _ in range(ndim)]
    d = [draw(st.integers(1, 2)) for _ in range(ndim)]
    m = [draw(st.integers(1, 2 if small else 4)) for _ in range(ndim)]
    kinds = ["SAME", "VALID", "pairs", "consistent"] + (["lower"] if max(s) == 1 else [])
    kind = draw(st.sampled_from(kinds))
    e = [di * (ki - 1) + 1 for ki, di in zip(k, d)]
    if kind in ("pairs", "consistent"):
        padding = [(draw(st.integers(-2, ei + 1)), draw(st.integers(-2, ei + 1))) for ei in e]
    else:
        padding = draw(st.sampled_from(("same", "valid", "SAME_LOWER"))) if kind == "lower" \
            else kind
    numbers = draw(st.sampled_from(NUMBERS[ndim]))
    c_in, c_out = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    if numbers is None:
        x = rng.standard_normal([draw(st.integers(1, 2))] + m + [c_in])
        w = rng.standard_normal(k + [c_out, c_in] if draw(st.booleans()) else k + [c_in, c_out])
    else:
        lhs, rhs, _ = numbers
        x = rng.standard_normal(_place(lhs, "NC", (draw(st.integers(1, 2)), c_in), m, rhs))
        w = rng.standard_normal(_place(rhs, "OI", (c_out, c_in), k, rhs))
    kwargs = dict(strides=tuple(s), padding=padding, rhs_dilation=tuple(d),
                  dimension_numbers=numbers, transpose_kernel=draw(st.booleans()),
                  use_consistent_padding=kind == "consistent")
    return x, w, kwargs


def _place(spec, pair, lead, spatial, rhs):
    """Array shape for a dimension-number string; spatial sizes follow rhs's spatial order."""
    order = [c for c in rhs if c not in "OI"]
    sizes = dict(zip(order, spatial))
    sizes[pair[0]], sizes[pair[1]] = lead
    return [sizes[c] for c in spec]


def real_jax(x, w, kwargs):
    return np.asarray(lax.conv_transpose(x, w, **kwargs))


@settings(max_examples=100)
@given(jax_problems())
def test_jax_conv_transpose_matches_jax(problem):
    """100 examples: every new shape costs JAX a compilation."""
    x, w, kwargs = problem
    try:
        expected = real_jax(x, w, kwargs)
    except Exception as exc:  # channel mismatch (random rhs layout), no output: so do we
        with pytest.raises((ValueError, TypeError)):
            jax_conv_transpose(x, w, **kwargs)
        assert exc is not None
        return
    got = jax_conv_transpose(x, w, **kwargs)
    assert got.shape == expected.shape
    assert rel_error(got, expected) < 1e-12


@settings(max_examples=60)
@given(case=conv_cases(dtypes=(np.float64,)))
def test_jax_call_runs_in_jax(case):
    """Reverse direction: every spec, exact, with the TF-layout kernel and transpose_kernel."""
    _, w, y = random_arrays(case)
    call = framework_call("jax", case.spec, case.input_size)
    assert call.exact
    out = np.asarray(lax.conv_transpose(call.convert_input(y), call.convert_weight(w),
                                        **call.args))
    assert rel_error(call.finish(out), dk.conv_transpose(y, w, **case.transpose_kwargs())) < 1e-12


def test_pitfall_transpose_kernel_flips_and_swaps():
    """Without transpose_kernel JAX correlates with the kernel as given (no flip)."""
    rng = np.random.default_rng(0)
    x, f = rng.standard_normal((1, 4, 4, 2)), rng.standard_normal((3, 3, 5, 2))  # HWIO
    flipped = np.asarray(lax.conv_transpose(x, f, (2, 2), "SAME", transpose_kernel=True))
    tf_y = tf_conv_transpose(x, f, (1, 8, 8, 5), 2, "SAME")
    assert rel_error(flipped, tf_y) < 1e-12
    g = rng.standard_normal((3, 3, 2, 5))  # HWIO with I = input channels
    plain = np.asarray(lax.conv_transpose(x, g, (2, 2), "SAME"))
    core_w = np.flip(g.transpose(2, 3, 0, 1), axis=(2, 3))  # (C_in, C_out, k, k), flipped
    core = dk.conv_transpose(np.moveaxis(x, -1, 1), core_w, stride=2, padding="same")
    assert rel_error(plain, np.moveaxis(core, 1, -1)) < 1e-12
    assert rel_error(jax_conv_transpose(x, g, (2, 2), "SAME"), plain) < 1e-12


def test_pitfall_explicit_pairs_are_the_transposed_padding():
    """Pairs (a, b) pad the zero-inserted input; use_consistent_padding makes them PyTorch's."""
    x = np.arange(1.0, 4.0).reshape(1, 3, 1)
    w = np.array([1.0, 10.0, 100.0]).reshape(3, 1, 1)  # full: 1 10 102 20 203 30 300
    for consistent, expected in ((False, [102, 20, 203]), (True, [1, 10, 102, 20, 203, 30, 300])):
        kw = dict(transpose_kernel=True, use_consistent_padding=consistent)
        assert np.asarray(lax.conv_transpose(x, w, (2,), [(0, 0)], **kw)).ravel().tolist() \
            == expected
        assert jax_conv_transpose(x, w, (2,), [(0, 0)], **kw).ravel().tolist() == expected
    torch_like = dk.conv_transpose(x.reshape(1, 1, 3), w.reshape(1, 1, 3), stride=2, padding=0)
    assert torch_like.ravel().tolist() == [1, 10, 102, 20, 203, 30, 300]


def test_lowercase_padding_strings_need_unit_strides_like_jax():
    x, w = np.ones((1, 3, 1)), np.ones((3, 1, 1))
    with pytest.raises(Exception, match="String padding is not implemented"):
        lax.conv_transpose(x, w, (2,), "same")
    with pytest.raises(ValueError, match="String padding is not implemented"):
        jax_conv_transpose(x, w, (2,), "same")


@settings(max_examples=60)
@given(case=conv_cases(dtypes=(np.float64,)))
def test_the_forward_spelling_runs_in_jax(case):
    """conv_spelling("jax") as written computes conv: any (lo, hi) pads, groups."""
    from deconvkit.conventions import conv_spelling
    x, w, _ = random_arrays(case)
    spelling = conv_spelling("jax", case.spec, case.x_shape[2:])
    assert spelling.exact
    namespace = {"jax": jax, "x": x, "w": w}
    exec(spelling.code, namespace)
    expected = dk.conv(x, w, **case.conv_kwargs())
    assert rel_error(np.asarray(namespace["y"]), expected) < 1e-12

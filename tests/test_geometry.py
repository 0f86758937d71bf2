"""ConvSpec: canonicalization, sizes, ranges, 'same' and output_size."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import deconvkit as dk
from deconvkit.geometry import ConvSpec, same_padding
from deconvkit.testing import conv_cases


def test_canonical_form():
    spec = ConvSpec((3, 2), stride=2, padding=(1, (0, 2)), dilation=(1, 3), groups=2)
    assert spec.kernel_size == (3, 2) and spec.stride == (2, 2)
    assert spec.padding == ((1, 1), (0, 2)) and spec.dilation == (1, 3)
    assert spec.output_padding == (0, 0) and spec.ndim == 2
    assert ConvSpec(5).kernel_size == (5,)
    with pytest.raises(Exception):
        spec.stride = (1, 1)  # frozen


@given(case=conv_cases())
def test_transposed_size_inverts_conv_size(case):
    """Every size in the valid range maps back to the transposed input under conv
    (the first m outputs when output_padding >= stride)."""
    spec, m = case.spec, case.input_size
    lo, hi = spec.transpose_output_range(m)
    n = spec.transpose_output_size(m)
    assert all(a <= v <= b for a, v, b in zip(lo, n, hi))
    back = spec.conv_output_size(n)
    for mi, bi, r, s in zip(m, back, spec.output_padding, spec.stride):
        assert bi == mi + r // s
    for size in np.ndindex(*[b - a + 1 for a, b in zip(lo, hi)]):
        want = tuple(a + o for a, o in zip(lo, size))
        assert spec.with_output_size(m, want).transpose_output_size(m) == want


@given(n=st.integers(1, 40), k=st.integers(1, 7), s=st.integers(1, 5), d=st.integers(1, 3))
def test_same_padding_gives_ceil_and_odd_pixel_at_end(n, k, s, d):
    lo, hi = same_padding(n, k, s, d)
    assert hi - lo in (0, 1)
    spec = ConvSpec(k, s, ((lo, hi),), d)
    assert spec.conv_output_size((n,)) == (-(-n // s),)


@given(m=st.integers(1, 12), k=st.integers(1, 7), s=st.integers(1, 5), d=st.integers(1, 3))
def test_same_transposed_output_is_input_times_stride(m, k, s, d):
    spec = ConvSpec.create(1, k, stride=s, dilation=d, padding="same", input_size=(m,),
                           transposed=True)
    assert spec.transpose_output_size((m,)) == (m * s,)
    assert spec.conv_output_size((m * s,)) == (m,)


def test_same_transposed_with_output_size():
    spec = ConvSpec.create(1, 3, stride=2, padding="same", input_size=(4,), transposed=True,
                           output_size=7)
    assert spec.transpose_output_size((4,)) == (7,) and spec.conv_output_size((7,)) == (4,)
    with pytest.raises(ValueError, match="requested output size 9, valid sizes for input 4"):
        ConvSpec.create(1, 3, stride=2, padding="same", input_size=(4,), transposed=True,
                        output_size=9)


def test_output_size_message_names_the_valid_range():
    spec = ConvSpec(3, stride=2)
    assert spec.transpose_output_range((4,)) == ((9,), (10,))
    with pytest.raises(ValueError, match=r"requested output size 11, valid sizes for input 4 are 9\.\.10"):
        spec.with_output_size((4,), (11,))


def test_output_padding_range_follows_pytorch():
    ConvSpec(3, stride=1, dilation=3, output_padding=2)   # < max(stride, dilation)
    with pytest.raises(ValueError, match="output_padding"):
        ConvSpec(3, stride=2, dilation=1, output_padding=2)


def test_describe_mentions_every_nondefault():
    text = ConvSpec((3, 3), 2, 1, groups=4, output_padding=1).describe()
    assert "groups 4" in text and "output_padding (1, 1)" in text and "stride (2, 2)" in text


def test_public_output_size_accepts_pytorch_full_shape():
    x = np.ones((1, 1, 4, 4))
    w = np.ones((1, 1, 3, 3))
    assert dk.conv_transpose(x, w, stride=2, output_size=(1, 1, 10, 9)).shape == (1, 1, 10, 9)


def test_one_dimensional_pair_is_lo_hi():
    assert ConvSpec(3, padding=(0, 2)).padding == ((0, 2),)
    x = np.arange(5.0).reshape(1, 1, 5)
    assert dk.conv(x, np.ones((1, 1, 3)), padding=(0, 2)).shape == (1, 1, 5)

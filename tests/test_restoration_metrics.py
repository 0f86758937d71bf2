"""PSNR against scikit-image's (a peer), SSIM through scikit-image, and their refusals."""

import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from deconvkit.restoration.metrics import psnr, ssim

skimage_metrics = pytest.importorskip("skimage.metrics")

_shapes = hnp.array_shapes(min_dims=1, max_dims=3, max_side=8)
_values = st.floats(-1e3, 1e3, allow_subnormal=False)


@st.composite
def _pairs(draw, dtype=np.float64):
    shape = draw(_shapes)
    truth = draw(hnp.arrays(dtype, shape, elements=_values))
    estimate = draw(hnp.arrays(dtype, shape, elements=_values))
    return truth, estimate


@settings(max_examples=200, deadline=None)
@given(pair=_pairs(), data_range=st.floats(1e-3, 1e4))
def test_psnr_matches_scikit_image(pair, data_range):
    truth, estimate = pair
    _agree(psnr(truth, estimate, data_range=data_range), truth, estimate, data_range)


def _agree(ours, truth, estimate, data_range):
    if np.array_equal(truth, estimate):
        assert ours == np.inf
        return
    assert np.isfinite(ours)
    with np.errstate(all="ignore"):
        theirs = skimage_metrics.peak_signal_noise_ratio(truth, estimate,
                                                         data_range=data_range)
    if np.isfinite(theirs):  # theirs under/overflows for ranges like 1e-180
        assert ours == pytest.approx(theirs, rel=1e-9, abs=1e-9)


@settings(max_examples=100, deadline=None)
@given(pair=_pairs())
def test_psnr_default_range_is_the_truths_max_minus_min(pair):
    truth, estimate = pair
    spread = truth.max() - truth.min()
    if spread == 0:
        with pytest.raises(ValueError, match="truth is constant"):
            psnr(truth, estimate)
        return
    _agree(psnr(truth, estimate), truth, estimate, spread)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16, np.float32, bool])
def test_psnr_takes_any_real_dtype_in_float64(dtype):
    truth = np.array([[0, 1], [1, 0]], dtype)
    estimate = np.array([[0, 1], [0, 0]], dtype)  # MSE 1/4, range 1
    assert psnr(truth, estimate) == pytest.approx(10 * np.log10(4))
    assert truth.dtype == dtype  # inputs untouched


def test_psnr_does_not_modify_its_inputs():
    truth, estimate = np.arange(6.0), np.arange(6.0)[::-1]
    before = truth.copy(), estimate.copy()
    psnr(truth, estimate)
    ssim(np.tile(truth, (7, 2)), np.tile(estimate, (7, 2)))
    np.testing.assert_array_equal(truth, before[0])
    np.testing.assert_array_equal(estimate, before[1])


@pytest.mark.parametrize("metric", [psnr, ssim])
@pytest.mark.parametrize("truth, estimate, data_range, error, words", [
    (np.zeros((8, 8)), np.zeros((8, 7)), 1.0, ValueError, "shape of truth (8, 8)"),
    (np.zeros((0, 8)), np.zeros((0, 8)), 1.0, ValueError, "truth: expected a non-empty"),
    (np.full((8, 8), np.nan), np.zeros((8, 8)), 1.0, ValueError, "truth: expected finite"),
    (np.zeros((8, 8)), np.full((8, 8), np.inf), 1.0, ValueError, "estimate: expected finite"),
    (np.zeros((8, 8), complex), np.zeros((8, 8)), 1.0, TypeError, "complex128"),
    (np.zeros((8, 8)), np.zeros((8, 8)), None, ValueError, "truth is constant"),
    (np.eye(8), np.eye(8), 0.0, ValueError, "data_range: expected a finite number > 0"),
    (np.eye(8), np.eye(8), -1.0, ValueError, "data_range: expected a finite number > 0"),
    (np.eye(8), np.eye(8), np.nan, ValueError, "data_range: expected a finite number > 0"),
    (np.eye(8), np.eye(8), "1", TypeError, "data_range: expected a number, got '1'"),
    (np.eye(8), np.eye(8), True, TypeError, "data_range: expected a number"),
])
def test_metrics_refuse_what_they_cannot_compare(metric, truth, estimate, data_range, error,
                                                 words):
    with pytest.raises(error) as caught:
        metric(truth, estimate, data_range=data_range)
    assert words in str(caught.value)


def test_ssim_is_scikit_images_with_the_truths_range():
    rng = np.random.default_rng(1)
    truth = rng.random((32, 24))
    estimate = truth + rng.normal(0, 0.1, truth.shape)
    spread = truth.max() - truth.min()
    expected = skimage_metrics.structural_similarity(truth, estimate, data_range=spread)
    assert ssim(truth, estimate) == pytest.approx(expected, rel=1e-12)
    assert ssim(truth, estimate, data_range=2.0) == pytest.approx(
        skimage_metrics.structural_similarity(truth, estimate, data_range=2.0), rel=1e-12)
    assert ssim(truth, truth) == 1.0 and ssim(truth, estimate) < 1
    assert isinstance(ssim(truth, estimate), float)


def test_ssim_works_on_stacks():
    rng = np.random.default_rng(2)
    truth = rng.random((8, 9, 10))
    assert 0 < ssim(truth, truth * 0.9 + 0.05) < 1


def test_ssim_refuses_an_axis_shorter_than_its_window():
    with pytest.raises(ValueError, match="at least 7 values along every axis"):
        ssim(np.eye(6), np.eye(6))


def test_ssim_without_scikit_image_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "skimage.metrics", None)  # makes the import fail
    with pytest.raises(ImportError, match=r"deconvkit\[restore\]"):
        ssim(np.eye(8), np.eye(8))
    assert psnr(np.eye(8), np.eye(8)) == np.inf  # PSNR is plain NumPy

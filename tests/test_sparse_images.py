import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from deconvkit.images import write_image
from deconvkit.sparse.images import NATURAL, folder_images, grey, highpass, sample_images


def test_natural_images_are_grey_squares_in_the_unit_range():
    pytest.importorskip("skimage")
    images = sample_images("natural", len(NATURAL), 64)
    assert images.shape == (len(NATURAL), 1, 64, 64) and images.dtype == np.float64
    assert images.min() >= 0 and images.max() <= 1
    assert len({float(im.std()) for im in images}) == len(NATURAL)    # all different
    from skimage import data
    camera = data.camera() / 255.0
    want = camera.reshape(64, 8, 64, 8).mean(axis=(1, 3))     # 512 -> 64: a box average
    assert np.corrcoef(images[0, 0].ravel(), want.ravel())[0, 1] > 0.98


def test_shapes_images_need_no_dependency_and_follow_the_seed():
    a, b = sample_images("shapes", 2, 40, seed=1), sample_images("shapes", 2, 40, seed=2)
    assert a.shape == (2, 1, 40, 40) and not np.array_equal(a, b)
    np.testing.assert_array_equal(a, sample_images("shapes", 2, 40, seed=1))


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 3), st.integers(8, 24), st.floats(0.5, 6))
def test_highpass_splits_the_image_exactly_and_leaves_it_alone(n, size, sigma):
    images = np.random.default_rng(n).random((n, 2, size, size + 3))
    before = images.copy()
    detail, smooth = highpass(images, sigma)
    np.testing.assert_allclose(detail + smooth, images, atol=1e-13)
    np.testing.assert_array_equal(images, before)
    # the blur is periodic: it keeps each image's mean, so the detail has mean zero
    np.testing.assert_allclose(detail.mean(axis=(2, 3)), 0, atol=1e-12)


def test_folder_images_reads_files_in_name_order(tmp_path):
    pytest.importorskip("imageio")
    ramp = np.linspace(0, 1, 32 * 48).reshape(32, 48)
    write_image(tmp_path / "b.png", np.stack([ramp] * 3, -1), bits=8)
    write_image(tmp_path / "a.png", 1 - ramp, bits=16)
    (tmp_path / "notes.txt").write_text("not an image")
    images = folder_images(tmp_path, 32)
    assert images.shape == (2, 1, 32, 32)
    np.testing.assert_allclose(images[0, 0], (1 - ramp)[:, 8:40], atol=1e-4)
    np.testing.assert_allclose(images[1, 0], ramp[:, 8:40], atol=2e-3)


@pytest.mark.parametrize("call, match", [
    (lambda: sample_images("photos"), "source must be 'natural' or 'shapes', got 'photos'"),
    (lambda: sample_images("natural", 99), "n must be at most 10"),
    (lambda: sample_images("shapes", 0), "n must be"),
    (lambda: sample_images("shapes", 1, 4), "size must be"),
    (lambda: highpass(np.zeros((4, 4))), r"images must be \(N, C, \*spatial\)"),
    (lambda: highpass(np.zeros((1, 1, 4, 4)), 0), "sigma must be > 0, got 0"),
    (lambda: grey(np.zeros((2, 2, 2, 2))), "expected a grey"),
])
def test_bad_input_names_what_was_expected(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_an_empty_folder_is_refused(tmp_path):
    with pytest.raises(ValueError, match="no image files"):
        folder_images(tmp_path)
    with pytest.raises(ValueError, match="must be a folder"):
        folder_images(tmp_path / "missing")

"""deconvkit.sparse.pictures: the filter mosaic and the learned-filters PNG."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from deconvkit.sparse.pictures import draw_learned, filter_mosaic, strongest_maps


@settings(max_examples=30, deadline=None)
@given(k=st.integers(1, 20), kh=st.integers(1, 6), kw=st.integers(1, 6), c=st.integers(1, 3),
       columns=st.none() | st.integers(1, 6), seed=st.integers(0, 99))
def test_every_filter_is_placed_in_its_tile_scaled_to_one(k, kh, kw, c, columns, seed):
    filters = np.random.default_rng(seed).standard_normal((k, c, kh, kw))
    mosaic = filter_mosaic(filters, columns=columns)
    cols = columns or int(np.ceil(np.sqrt(k)))
    for i in range(k):
        r, q = divmod(i, cols)
        tile = mosaic[r * (kh + 1):r * (kh + 1) + kh, q * (kw + 1):q * (kw + 1) + kw]
        grey = filters[i].mean(axis=0)
        np.testing.assert_allclose(tile, grey / np.abs(grey).max())
    assert np.nanmax(np.abs(mosaic)) <= 1 + 1e-12
    assert np.isnan(mosaic).sum() == mosaic.size - k * kh * kw      # gaps and empty tiles


def test_strongest_maps_are_ordered_by_l1_norm():
    z = np.zeros((5, 4, 4))
    for k, weight in enumerate([1.0, 5.0, 0.0, 3.0, 2.0]):
        z[k, k % 4, 0] = weight * (-1) ** k
    assert strongest_maps(z, 3) == [1, 3, 4]


def test_the_png_is_drawn_and_never_overwritten_by_surprise(tmp_path):
    rng = np.random.default_rng(0)
    filters = rng.standard_normal((6, 1, 5, 5))
    image = rng.random((32, 32))
    z = rng.standard_normal((6, 32, 32)) * (rng.random((6, 32, 32)) > 0.95)
    asked = []
    path = draw_learned(tmp_path / "f.png", filters, image, z, image * 0.9, title="t",
                        scores={"PSNR": "20.0 dB"},
                        parts=lambda k: asked.append(k) or z[k] * 2)
    norms = np.abs(z).sum(axis=(1, 2))
    assert asked == list(np.argsort(-norms)[:4])     # the four strongest maps, in order
    from PIL import Image
    pixels = np.asarray(Image.open(path).convert("L"), dtype=float)
    assert pixels.shape[0] > 200 and pixels.std() > 10
    with pytest.raises(ValueError, match="would overwrite"):
        draw_learned(path, filters, image, z, image)
    draw_learned(path, filters, image, z, image, overwrite=True)


def test_filters_without_two_spatial_axes_are_refused():
    with pytest.raises(ValueError, match=r"filters must have shape \(K, C, kh, kw\) for a "
                                         r"picture, got shape \(3, 1, 5\)"):
        filter_mosaic(np.ones((3, 1, 5)))

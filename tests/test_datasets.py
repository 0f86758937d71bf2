"""The shapes dataset: shapes, determinism, splits, content that exercises upsampling."""

import numpy as np
import pytest

from deconvkit.datasets import (CLASSES, PALETTE, colorize, iterate_batches, shapes,
                                shapes_splits)


@pytest.fixture(scope="module")
def sample():
    return shapes(60, size=64, seed=0)


def test_shapes_and_types(sample):
    images, labels = sample
    assert images.shape == (60, 3, 64, 64) and images.dtype == np.float32
    assert labels.shape == (60, 64, 64) and labels.dtype == np.int64
    assert images.min() >= 0.0 and images.max() <= 1.0
    assert labels.min() >= 0 and labels.max() < len(CLASSES)
    x, y = shapes(3, size=40)
    assert x.shape == (3, 3, 40, 40) and y.shape == (3, 40, 40)


def test_deterministic_for_a_seed_and_prefix_stable(sample):
    images, labels = sample
    again = shapes(10, size=64, seed=0)
    assert np.array_equal(again[0], images[:10]) and np.array_equal(again[1], labels[:10])
    other = shapes(10, size=64, seed=1)
    assert not np.array_equal(other[0], images[:10])


def test_splits_are_disjoint_streams():
    (xt, yt), (xv, yv) = shapes_splits(8, 5, size=32, seed=3)
    assert xt.shape[0] == 8 and xv.shape[0] == 5
    assert np.array_equal(xt, shapes(8, size=32, seed=3, split="train")[0])
    assert np.array_equal(yv, shapes(5, size=32, seed=3, split="val")[1])
    assert not any(np.array_equal(a, b) for a in xt for b in xv)


def test_every_class_appears_with_several_shapes_per_image(sample):
    _, labels = sample
    counts = np.bincount(labels.ravel(), minlength=len(CLASSES))
    assert (counts > 0).all()
    assert counts[0] / labels.size < 0.95                        # not just background
    per_image = [len(np.unique(y)) - 1 for y in labels]
    assert np.mean(per_image) >= 1.8 and max(per_image) >= 3


def test_textured_backgrounds(sample):
    images, labels = sample
    stds = [images[i][:, labels[i] == 0].std(axis=1).mean() for i in range(len(images))]
    assert np.median(stds) > 0.05                                # not flat colour


def test_thin_parts_and_corners_are_lost_by_coarse_nearest_upsampling(sample):
    """Where upsampling quality shows: labels at 1/8 resolution, blown back up with
    nearest neighbour, lose much of the thin classes (ring, cross, star)."""
    _, labels = sample
    coarse = labels[:, 4::8, 4::8].repeat(8, axis=1).repeat(8, axis=2)
    for name in ("star", "cross", "ring"):
        c = CLASSES.index(name)
        inter = np.logical_and(coarse == c, labels == c).sum()
        union = np.logical_or(coarse == c, labels == c).sum()
        assert inter / union < 0.5, name
    c = CLASSES.index("ellipse")
    inter = np.logical_and(coarse == c, labels == c).sum()
    assert inter / np.logical_or(coarse == c, labels == c).sum() > 0.5


def test_shapes_occlude_each_other(sample):
    """Shapes painted later cover earlier ones: in many images two different shape
    classes share a boundary, which random placement without overlap almost never gives."""
    _, labels = sample
    left, right = labels[:, :, :-1], labels[:, :, 1:]
    touching = (left != right) & (left > 0) & (right > 0)
    assert (touching.sum(axis=(1, 2)) > 0).mean() > 0.3


def test_bad_arguments():
    with pytest.raises(ValueError, match="size must be an int >= 8"):
        shapes(2, size=4)
    with pytest.raises(ValueError, match="split must be one of"):
        shapes(2, split="validation")
    with pytest.raises(ValueError, match="n must be an int >= 0"):
        shapes(-1)
    assert shapes(0)[0].shape == (0, 3, 64, 64)


def test_colorize(sample):
    _, labels = sample
    rgb = colorize(labels[0])
    assert rgb.shape == (64, 64, 3) and rgb.dtype == np.uint8
    assert np.array_equal(rgb[labels[0] == 0], np.zeros(((labels[0] == 0).sum(), 3)))
    assert len(PALETTE) == len(CLASSES)
    with pytest.raises(ValueError, match=r"labels must be in \[0, 6\)"):
        colorize(np.array([6]))


def test_iterate_batches_covers_everything_once():
    x, y = np.arange(10), np.arange(10) * 2
    seen = np.concatenate([bx for bx, by in iterate_batches(x, y, batch_size=3, rng=0)])
    assert sorted(seen.tolist()) == list(range(10))
    for bx, by in iterate_batches(x, y, batch_size=3, rng=0):
        assert np.array_equal(by, 2 * bx)
    assert [len(b[0]) for b in iterate_batches(x, batch_size=4, drop_last=True)] == [4, 4]
    first = [b[0].tolist() for b in iterate_batches(x, batch_size=5, rng=1)]
    assert first == [b[0].tolist() for b in iterate_batches(x, batch_size=5, rng=1)]
    with pytest.raises(ValueError, match="share their first axis"):
        next(iterate_batches(x, np.arange(3), batch_size=2))
    with pytest.raises(ValueError, match="batch_size must be an int >= 1"):
        next(iterate_batches(x, batch_size=0))

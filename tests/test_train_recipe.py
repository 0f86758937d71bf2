"""deconvkit.train: augmentation, the warm-up schedule, the converge recipe and its CLI."""

import numpy as np
import pytest

from deconvkit import nn
from deconvkit.datasets import shapes_splits
from deconvkit.train import RunConfig, fit, run
from deconvkit.train.augment import dihedral, flip_shift, shift
from deconvkit.train.schedule import WarmupCosineLR, warmup_cosine


def _labelled_batch(n=6, size=16, seed=0):
    """Images whose every channel is a known function of the labels, with random texture."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 6, size=(n, size, size))
    images = np.stack([labels * 10.0, labels * -1.0, labels + 0.5], axis=1).astype(np.float32)
    return images, labels


@pytest.mark.parametrize("turns", [True, False])
def test_flip_shift_keeps_images_and_labels_aligned(turns):
    images, labels = _labelled_batch()
    xa, ya = flip_shift(images, labels, 3, max_shift=5, turns=turns)
    assert xa.shape == images.shape and ya.shape == labels.shape
    assert xa.dtype == images.dtype and ya.dtype == labels.dtype
    np.testing.assert_array_equal(xa[:, 0], ya * 10.0)
    np.testing.assert_array_equal(xa[:, 1], ya * -1.0)
    np.testing.assert_array_equal(xa[:, 2], ya + 0.5)
    assert not np.array_equal(ya, labels)        # it did move something


def test_flip_shift_aligns_real_shapes_and_leaves_the_input_alone():
    (x, y), _ = shapes_splits(4, 1, size=32)
    x0, y0 = x.copy(), y.copy()
    xa, ya = flip_shift(x, y, 1, max_shift=4)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(y, y0)
    # every augmented pair is one symmetry and shift of an original pair
    rng = np.random.default_rng(1)
    codes, shifts = rng.integers(8, size=4), rng.integers(-4, 5, size=(4, 2))
    for i in range(4):
        np.testing.assert_array_equal(xa[i], shift(dihedral(x[i], codes[i]), *shifts[i]))
        np.testing.assert_array_equal(ya[i], shift(dihedral(y[i], codes[i]), *shifts[i]))


def test_flip_shift_is_deterministic_with_a_seed():
    images, labels = _labelled_batch()
    a, b = flip_shift(images, labels, 7), flip_shift(images, labels, 7)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    c = flip_shift(images, labels, 8)
    assert not np.array_equal(a[1], c[1])


def test_dihedral_gives_eight_distinct_symmetries():
    x = np.arange(9).reshape(3, 3)
    results = {dihedral(x, code).tobytes() for code in range(8)}
    assert len(results) == 8
    np.testing.assert_array_equal(dihedral(x, 3), np.rot90(x, 2))
    np.testing.assert_array_equal(dihedral(x, 5), np.rot90(x, -1))


def test_shift_moves_pixels_and_reflects_the_edge():
    x = np.arange(20).reshape(4, 5)
    y = shift(x, 1, -2)
    np.testing.assert_array_equal(y[1:, :3], x[:3, 2:])          # y[i, j] = x[i - 1, j + 2]
    np.testing.assert_array_equal(y[0, :3], x[1, 2:])            # reflected row
    np.testing.assert_array_equal(y[1:, 3:], x[:3, 3:1:-1])      # reflected columns
    np.testing.assert_array_equal(shift(x, 0, 0), x)
    with pytest.raises(ValueError, match="smaller than the image"):
        shift(x, 4, 0)


@pytest.mark.parametrize("bad, match", [
    (lambda x, y: flip_shift(x, y[:, :, :-1], 0), "labels"),
    (lambda x, y: flip_shift(x[:, :, :, :-1], y[:, :, :-1], 0), "square"),
    (lambda x, y: flip_shift(x, y, 0, max_shift=-1), "max_shift")])
def test_flip_shift_rejects_bad_input(bad, match):
    x, y = _labelled_batch()
    with pytest.raises(ValueError, match=match):
        bad(x, y)


def test_warmup_cosine_values_at_known_steps():
    # warm-up over 4 of 12 steps from 0.1, then a half cosine over the other 8
    assert warmup_cosine(0, 12, 4) == pytest.approx(0.1)
    assert warmup_cosine(2, 12, 4) == pytest.approx(0.55)
    assert warmup_cosine(4, 12, 4) == pytest.approx(1.0)
    assert warmup_cosine(6, 12, 4) == pytest.approx((1 + np.cos(np.pi / 4)) / 2)
    assert warmup_cosine(8, 12, 4) == pytest.approx(0.5)
    assert warmup_cosine(12, 12, 4) == pytest.approx(0.0)
    assert warmup_cosine(20, 12, 4, final=0.05) == pytest.approx(0.05)
    assert warmup_cosine(5, 10, 0) == pytest.approx(0.5)


def test_warmup_cosine_lr_drives_the_optimizer():
    opt = nn.Adam([nn.Parameter(np.zeros(2))], lr=0.02)
    schedule = WarmupCosineLR(opt, total_steps=12, warmup_steps=4)
    assert opt.lr == pytest.approx(0.002)                       # warmed down at once
    rates = [schedule.step() for _ in range(12)]
    assert rates[3] == pytest.approx(0.02) and max(rates) == pytest.approx(0.02)
    assert rates[7] == pytest.approx(0.01) and rates[-1] == pytest.approx(0.0)
    assert opt.lr == rates[-1]
    with pytest.raises(ValueError, match="warmup_steps"):
        WarmupCosineLR(opt, total_steps=4, warmup_steps=4)


def test_warmup_without_warmup_is_the_cosine_schedule():
    a, b = nn.SGD([nn.Parameter(np.zeros(1))], lr=1.0), nn.SGD([nn.Parameter(np.zeros(1))],
                                                                lr=1.0)
    ours, theirs = WarmupCosineLR(a, 10), nn.CosineLR(b, 10)
    for _ in range(10):
        assert ours.step() == pytest.approx(theirs.step())


@pytest.fixture(scope="module")
def tiny_data():
    return shapes_splits(8, 4, size=32, seed=1)


def test_fit_with_augmentation_and_warmup_is_deterministic(tiny_data):
    (x, y), _ = tiny_data
    config = RunConfig("fcn8s", epochs=3, batch_size=4, width=4, augment=True,
                       warmup_epochs=1)
    runs = [fit(nn.fcn(width=4, seed=0), x, y, config, progress=False) for _ in range(2)]
    assert runs[0] == runs[1]
    plain = fit(nn.fcn(width=4, seed=0), x, y,
                RunConfig("fcn8s", epochs=3, batch_size=4, width=4), progress=False)
    assert plain[0] != runs[0][0]                  # the batches were augmented


def test_run_records_the_validation_curve(tiny_data):
    train, val = tiny_data
    result = run(RunConfig("fcn8s", epochs=2, batch_size=4, width=4, augment=True), train,
                 val, progress=False, curve=True)
    assert [p["epoch"] for p in result.curve] == [1, 2]
    assert result.curve[-1]["mean_iou"] == pytest.approx(result.metrics["mean_iou"], abs=1e-4)
    assert len(result.curve[0]["iou_per_class"]) == 6
    assert result.summary()["curve"] == result.curve


@pytest.mark.parametrize("bad, match", [
    (dict(warmup_epochs=8), "warmup_epochs"), (dict(warmup_epochs=-1), "warmup_epochs"),
    (dict(max_shift=-1), "max_shift")])
def test_run_config_rejects_bad_recipe_values(bad, match):
    with pytest.raises(ValueError, match=match):
        RunConfig(**bad)


def test_converge_recipe_is_fcn8s_learned_bilinear_with_augmentation_and_warmup():
    from deconvkit.train import RECIPES, get_recipe

    recipe = get_recipe("converge")
    assert recipe is RECIPES["converge"]
    assert recipe.config.name == "fcn8s/learned_bilinear"
    assert recipe.config.augment and recipe.config.warmup_epochs > 0
    assert recipe.data.n_train > 1000 and recipe.data.size == 64
    with pytest.raises(ValueError, match="converge"):
        get_recipe("fast")


def test_cli_recipe_trains_with_it_and_reports_the_curve(tmp_path, capsys):
    import json

    from deconvkit.cli import main
    from deconvkit.train import get_recipe

    report = tmp_path / "run.json"
    status = main(["train", "--recipe", "converge", "--epochs", "2", "--n-train", "4",
                   "--n-val", "2", "--size", "32", "--width", "4", "--depth", "2",
                   "--report", str(report), "--no-progress", "--no-figures"])
    assert status == 0
    run_ = json.loads(report.read_text())["runs"][0]
    config = run_["config"]
    assert config["augment"] is True and config["width"] == 4 and config["epochs"] == 2
    assert config["depth"] == 2 and config["head"] == "fcn8s"
    assert config["warmup_epochs"] == get_recipe("converge").config.warmup_epochs
    assert [p["epoch"] for p in run_["curve"]] == [1, 2]
    assert "epoch 2: val mean IoU" in capsys.readouterr().out
    assert main(["train", "--recipe", "converge", "--quick", "--out", str(tmp_path)]) == 2



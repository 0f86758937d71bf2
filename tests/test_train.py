"""deconvkit.train: metrics (properties and brute force), the training loop, reports, CLI."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from deconvkit import functional as F
from deconvkit import nn
from deconvkit.cli import main
from deconvkit.cli.train import QUICK_NOTE
from deconvkit.datasets import shapes_splits
from deconvkit.train import (DataConfig, RunConfig, boundary_f1, checkerboard_score,
                             comparison_configs, confusion_matrix, evaluate, fit, mean_iou,
                             output_paths, pixel_accuracy, run, train_and_report)
from deconvkit.train.loop import class_weights

label_maps = st.integers(1, 4).flatmap(lambda c: st.tuples(
    st.just(c), arrays(np.int64, (2, 5, 6), elements=st.integers(0, c - 1)),
    arrays(np.int64, (2, 5, 6), elements=st.integers(0, c - 1))))


@settings(max_examples=60, deadline=None)
@given(label_maps)
def test_confusion_matrix_counts_every_pair(case):
    c, pred, target = case
    cm = confusion_matrix(pred, target, c)
    brute = np.zeros((c, c), int)
    for t, p in zip(target.ravel(), pred.ravel()):
        brute[t, p] += 1
    np.testing.assert_array_equal(cm, brute)
    assert pixel_accuracy(cm) == pytest.approx(np.mean(pred == target))
    miou, per_class = mean_iou(cm)
    for k in range(c):
        inter = np.sum((pred == k) & (target == k))
        union = np.sum((pred == k) | (target == k))
        if union:
            assert per_class[k] == pytest.approx(inter / union)
        else:
            assert np.isnan(per_class[k])
    assert miou == pytest.approx(np.nanmean(per_class))


@settings(max_examples=40, deadline=None)
@given(label_maps)
def test_boundary_f1_is_symmetric_bounded_and_perfect_on_itself(case):
    _, pred, target = case
    f = boundary_f1(pred, target)
    assert 0.0 <= f <= 1.0
    assert f == pytest.approx(boundary_f1(target, pred))
    assert boundary_f1(target, target) == 1.0


def test_boundary_f1_tolerance_forgives_a_small_shift_only():
    t = np.zeros((1, 32, 32), int)
    t[0, 8:20, 8:20] = 1
    shifted = np.roll(t, 1, axis=2)
    assert boundary_f1(shifted, t, tolerance=1) == 1.0
    assert boundary_f1(shifted, t, tolerance=0) < 0.8
    assert boundary_f1(np.roll(t, 6, axis=2), t, tolerance=2) < 0.6


def test_boundary_f1_punishes_the_wrong_class_and_speckle():
    t = np.zeros((1, 32, 32), int)
    t[0, 8:20, 8:20] = 1
    assert boundary_f1(np.where(t == 1, 2, 0), t) == pytest.approx(1 / 3)
    speckled = t.copy()
    speckled[0, ::5, ::5] = 1
    assert boundary_f1(speckled, t) < 0.7


def test_checkerboard_score_sees_uneven_overlap_not_bilinear():
    rng = np.random.default_rng(0)
    coarse = rng.normal(size=(4, 3, 8, 8)).astype(np.float32)
    up = nn.ConvTranspose.bilinear(3, 4, trainable=False)
    smooth = up.forward(coarse)
    assert checkerboard_score(smooth, 4) < 0.02
    # kernel 3, stride 2: output pixels receive 1 or 2 (or 4) taps, the classic artifact
    w = np.ones((3, 3, 3, 3), np.float32) / 9
    uneven = F.conv_transpose(np.abs(coarse) + 1, w, stride=2, padding=1, output_padding=1)
    assert checkerboard_score(uneven, 2) > 0.2
    # invariant to a per-map offset and a global scale
    shifted = 3 * smooth + rng.normal(size=(4, 3, 1, 1)).astype(np.float32)
    assert checkerboard_score(shifted, 4) == pytest.approx(checkerboard_score(smooth, 4))


def test_class_weights_balance_pixel_frequencies():
    labels = np.array([0] * 90 + [1] * 9 + [2] * 1)
    w = class_weights(labels, 4, "balanced")
    freq = np.array([0.9, 0.09, 0.01])
    np.testing.assert_allclose(w[:3] * freq, np.full(3, 0.09))
    assert w[3] == w.max()                      # absent class: the largest weight
    np.testing.assert_allclose(class_weights(labels, 4, "sqrt"), np.sqrt(w))
    assert class_weights(labels, 4, "none") is None


@pytest.mark.parametrize("bad, match", [
    (dict(head="fcn4s"), "head"), (dict(upsampling="cubic"), "upsampling"),
    (dict(optimizer="rmsprop"), "optimizer"), (dict(epochs=0), "epochs"),
    (dict(batch_size=2.5), "batch_size"), (dict(lr=0), "lr"),
    (dict(class_weights="inverse"), "class_weights")])
def test_run_config_rejects_bad_values(bad, match):
    with pytest.raises(ValueError, match=match):
        RunConfig(**bad)


@pytest.mark.parametrize("bad, match", [(dict(size=30), "multiple of 8"),
                                        (dict(n_train=0), "n_train")])
def test_data_config_rejects_bad_values(bad, match):
    with pytest.raises(ValueError, match=match):
        DataConfig(**bad)


@pytest.mark.parametrize("bad, match", [
    (lambda: boundary_f1(np.zeros((2, 3)), np.zeros((2, 3), int)), "integer"),
    (lambda: confusion_matrix(np.array([3]), np.array([0]), 2), r"\[0, 2\)"),
    (lambda: checkerboard_score(np.zeros((1, 1, 6, 6)), 4), "multiple"),
    (lambda: checkerboard_score(np.zeros((6, 6)), 2), "N, C, H, W")])
def test_metrics_reject_bad_input(bad, match):
    with pytest.raises((ValueError, TypeError), match=match):
        bad()


@pytest.fixture(scope="module")
def tiny_data():
    return shapes_splits(8, 4, size=32, seed=1)


def test_fit_learns_and_is_deterministic_and_leaves_data_alone(tiny_data):
    (x, y), _ = tiny_data
    x0, y0 = x.copy(), y.copy()
    config = RunConfig("fcn16s", "learned_bilinear", epochs=12, batch_size=4, lr=1e-2,
                       width=4)
    runs = []
    for _ in range(2):
        model = nn.fcn(config.head, config.upsampling, width=4, seed=0)
        runs.append(fit(model, x, y, config, progress=False))
    assert runs[0] == runs[1]
    assert len(runs[0]) == 12 * 2
    assert np.mean(runs[0][-4:]) < 0.8 * np.mean(runs[0][:2])
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(y, y0)


def test_fit_rejects_mismatched_data(tiny_data):
    (x, y), _ = tiny_data
    with pytest.raises(ValueError, match="same, non-zero number"):
        fit(nn.fcn(width=4), x, y[:3], RunConfig(width=4), progress=False)


def test_run_reports_validation_metrics_of_its_model(tiny_data):
    train, val = tiny_data
    result = run(RunConfig("fcn32s", "pixel_shuffle", epochs=1, batch_size=4, width=4),
                 train, val, progress=False)
    metrics, predictions = evaluate(result.model, *val, 6)
    assert metrics == result.metrics
    np.testing.assert_array_equal(predictions, result.predictions)
    assert predictions.shape == val[1].shape
    summary = result.summary()
    assert summary["name"] == "fcn32s/pixel_shuffle" and summary["train_images"] == 8
    json.dumps(summary)


def test_comparison_covers_every_upsampling_then_the_other_heads():
    configs = comparison_configs(RunConfig("fcn32s", "learned_bilinear", seed=3))
    names = [c.name for c in configs]
    assert names[:len(nn.UPSAMPLINGS)] == [f"fcn32s/{u}" for u in nn.UPSAMPLINGS]
    assert names[len(nn.UPSAMPLINGS):] == ["fcn16s/learned_bilinear", "fcn8s/learned_bilinear"]
    assert {c.seed for c in configs} == {3}


def test_output_paths_are_named_after_the_report(tmp_path):
    paths = output_paths(tmp_path, tmp_path / "a" / "cmp.json")
    assert paths["markdown"] == tmp_path / "a" / "cmp.md"
    assert str(paths["prefix"]) == str(tmp_path / "a" / "cmp-")
    with pytest.raises(ValueError, match=".json"):
        output_paths(tmp_path, tmp_path / "cmp.txt")


def test_train_and_report_writes_everything_and_never_overwrites(tmp_path):
    pytest.importorskip("matplotlib")
    configs = [RunConfig("fcn32s", u, epochs=1, batch_size=4, width=4)
               for u in ("bilinear", "learned_bilinear")]
    data = DataConfig(n_train=4, n_val=2, size=32)
    lines = []
    results, written = train_and_report(configs, data, out=tmp_path, progress=False,
                                        log=lines.append)
    names = sorted(p.name for p in written)
    assert names == ["report-kernels.png", "report-losses.png", "report-predictions.png",
                     "report.json", "report.md"]
    assert all(p.stat().st_size > 0 for p in written)
    report = json.loads((tmp_path / "report.json").read_text())
    assert [r["name"] for r in report["runs"]] == [c.name for c in configs]
    assert report["data"]["n_train"] == 4
    assert [r["mean_iou"] for r in report["runs"]] == [r.metrics["mean_iou"] for r in results]
    table = (tmp_path / "report.md").read_text().splitlines()
    assert len(table) == 2 + len(configs)
    before = (tmp_path / "report.json").read_bytes()
    with pytest.raises(ValueError, match="overwrite"):
        train_and_report(configs, data, out=tmp_path, progress=False, log=lines.append)
    assert (tmp_path / "report.json").read_bytes() == before


def test_cli_train_writes_the_report(tmp_path, capsys):
    report = tmp_path / "run.json"
    status = main(["train", "--head", "fcn8s", "--upsampling", "resize_conv", "--epochs", "1",
                   "--n-train", "4", "--n-val", "2", "--size", "32", "--width", "4",
                   "--report", str(report), "--no-progress", "--no-figures"])
    assert status == 0
    assert json.loads(report.read_text())["runs"][0]["name"] == "fcn8s/resize_conv"
    assert "fcn8s | resize_conv" in capsys.readouterr().out


def test_cli_train_quick_says_it_is_too_short_to_rank(tmp_path, capsys):
    """--quick ends with a plain note: no ranking, where the converged study and the
    trained model's predictions are; a single run does not print it."""
    tiny = ["--epochs", "1", "--n-train", "4", "--n-val", "2", "--size", "32", "--width", "4",
            "--no-progress", "--no-figures"]
    assert main(["train", "--quick", "--out", str(tmp_path / "q"), *tiny]) == 0
    out = capsys.readouterr().out
    assert out.rstrip().endswith(QUICK_NOTE.strip())
    assert "too short to rank" in out and "benchmarks/train/converged/study.md" in out
    assert "deconvkit predict" in out
    assert main(["train", "--out", str(tmp_path / "one"), *tiny]) == 0
    assert "too short to rank" not in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["train", "--size", "30"], "multiple of 8"),
    (["train", "--epochs", "0"], "epochs"),
    (["train", "--head", "fcn2s"], "invalid choice")])
def test_cli_train_rejects_bad_arguments(argv, message, capsys, tmp_path):
    assert main(argv + ["--out", str(tmp_path), "--no-progress"]) == 2
    assert message in capsys.readouterr().err

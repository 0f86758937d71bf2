"""`deconvkit sparse learn` (and `visualize`, with the deconvnet): files, scores, errors."""

import numpy as np
import pytest

from deconvkit import sparse
from deconvkit.cli import EXIT_USAGE
from cli_helpers import assert_usage_error, run

TINY = ["--n-images", "2", "--size", "32", "--filters", "4", "--kernel", "5",
        "--iterations", "3", "--no-progress"]


def png_pixels(path):
    from PIL import Image
    return np.asarray(Image.open(path).convert("L"), dtype=float)


def test_learn_writes_unit_filters_that_reconstruct_and_a_picture(capsys, tmp_path):
    out = tmp_path / "run"
    status, text, err = run(capsys, "sparse", "learn", "--demo", "--source", "shapes",
                            *TINY, "--out", out)
    assert status == 0, err
    filters, meta = sparse.load_filters(out / "filters.npz")
    assert filters.shape == (4, 1, 5, 5)
    assert (np.linalg.norm(filters.reshape(4, -1), axis=1) <= 1 + 1e-9).all()
    assert meta["source"] == "shapes" and meta["lam"] == 0.1
    assert png_pixels(out / "sparse-learn.png").std() > 10
    psnr = float(text.split("PSNR ")[1].split(" dB")[0])
    assert psnr > 20, text          # D z plus the smooth part is close to the image
    first, last = (float(v) for v in text.split("objective ")[1].split(" over")[0].split(" -> "))
    assert last < first


def test_learn_refuses_to_overwrite_without_the_flag(capsys, tmp_path):
    argv = ["sparse", "learn", "--demo", "--source", "shapes", *TINY, "--out", tmp_path]
    assert run(capsys, *argv)[0] == 0
    before = (tmp_path / "filters.npz").read_bytes()
    assert_usage_error(*run(capsys, *argv), "--out", "would overwrite")
    assert (tmp_path / "filters.npz").read_bytes() == before
    assert run(capsys, *argv, "--overwrite")[0] == 0


def test_learn_reads_a_folder_of_images(capsys, tmp_path):
    iio = pytest.importorskip("imageio.v3")
    folder = tmp_path / "images"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(2):
        iio.imwrite(folder / f"{i}.png", (rng.random((40, 48)) * 255).astype(np.uint8))
    status, text, err = run(capsys, "sparse", "learn", "--images", folder, *TINY,
                            "--out", tmp_path / "out")
    assert status == 0, err
    assert f"2 {folder} images" in text


@pytest.mark.parametrize("extra,words", [
    (["--images", "no-such-folder"], ["images must be a folder"]),
    (["--demo", "--kernel", "40"], ["--kernel must be at most --size (32)", "got --kernel 40"]),
    (["--demo", "--lam", "-1"], ["--lam"]),
    (["--demo", "--filters", "0"], ["--filters"]),
    (["--demo", "--method", "ista"], ["--method"]),
    ([], ["--demo", "--images"]),
])
def test_learn_errors_are_one_line(capsys, tmp_path, extra, words):
    source = ["--source", "shapes"] if "--demo" in extra else []
    argv = ["sparse", "learn", *TINY, "--out", tmp_path, *source, *extra]
    assert_usage_error(*run(capsys, *argv), *words)
    assert not (tmp_path / "sparse-learn.png").exists()


def test_source_goes_only_with_demo(capsys, tmp_path):
    assert_usage_error(*run(capsys, "sparse", "learn", "--images", tmp_path, "--source",
                            "shapes", *TINY, "--out", tmp_path / "o"), "--source")


def test_a_subcommand_is_required(capsys):
    status, out, err = run(capsys, "sparse")
    assert status == EXIT_USAGE and "learn" in err


@pytest.fixture
def tiny_model(tmp_path):
    from deconvkit import nn
    path = tmp_path / "tiny.npz"
    nn.save_model(nn.fcn("fcn8s", width=2, seed=1), path,
                  meta={"name": "fcn8s/tiny", "data": {"size": 32, "seed": 3, "n_val": 8,
                                                       "n_train": 8, "val_split": "val"}})
    return path


def test_visualize_draws_the_projections_of_a_saved_model(capsys, tiny_model, tmp_path):
    out = tmp_path / "v.png"
    status, text, err = run(capsys, "sparse", "visualize", tiny_model, "--layer", "stage2",
                            "--channels", "0", "1", "--top", "2", "--n-images", "8",
                            "--mode", "guided", "--out", out)
    assert status == 0, err
    assert "layer: stage2" in text and "channels" in text and str(out) in text
    assert png_pixels(out).std() > 5
    before = out.read_bytes()
    assert_usage_error(*run(capsys, "sparse", "visualize", tiny_model, "--out", out),
                       "would overwrite")
    assert out.read_bytes() == before


@pytest.mark.parametrize("extra,words", [
    (["--layer", "bogus"], ["layer must be one of", "got 'bogus'"]),
    (["--channels", "99"], ["channel", "99"]),
    (["--mode", "x"], ["--mode"]),
    (["--top", "0"], ["--top"]),
])
def test_visualize_errors_are_one_line(capsys, tiny_model, tmp_path, extra, words):
    out = tmp_path / "v.png"
    assert_usage_error(*run(capsys, "sparse", "visualize", tiny_model, "--out", out, *extra),
                       *words)
    assert not out.exists()


def test_visualize_needs_a_model_or_a_pretrained_name(capsys, tiny_model, tmp_path):
    assert_usage_error(*run(capsys, "sparse", "visualize", "--out", tmp_path / "v.png"),
                       "MODEL.npz", "--pretrained")
    assert_usage_error(*run(capsys, "sparse", "visualize", tmp_path / "missing.npz",
                            "--out", tmp_path / "v.png"), "missing.npz")

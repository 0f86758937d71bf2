"""`deconvkit predict`: a trained FCN's predictions, drawn and scored; clean errors."""

import sys

import numpy as np
import pytest

from deconvkit import nn
from deconvkit.datasets import shapes
from deconvkit.train.metrics import confusion_matrix, mean_iou, pixel_accuracy
from cli_helpers import run

iio = pytest.importorskip("imageio.v3")
pytest.importorskip("matplotlib")


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    """A small FCN-8s with learned bilinear upsampling, its weights perturbed so that
    its kernel is not bilinear, saved with the meta of a 32x32 run on data seed 3."""
    model = nn.fcn("fcn8s", "learned_bilinear", width=4, seed=1)
    rng = np.random.default_rng(0)
    for _, p in model.named_parameters():
        p.data += 0.05 * rng.standard_normal(p.data.shape).astype(p.data.dtype)
    path = tmp_path_factory.mktemp("model") / "small.npz"
    meta = {"name": "fcn8s/learned_bilinear", "mean_iou": 0.1,
            "data": {"val_split": "val", "n_train": 8, "n_val": 8, "size": 32, "seed": 3}}
    nn.save_model(model, path, meta=meta)
    return path


def picture(path):
    image = np.asarray(iio.imread(path), dtype=np.float64)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100
    return image


def test_shipped_model_predicts_its_validation_images(capsys, tmp_path):
    status, out, err = run(capsys, "predict", "--shapes", 3, "--out", tmp_path)
    assert status == 0, err
    assert "fcn8s/learned_bilinear" in out and "reported mean IoU" in out
    assert [line.startswith(f"image {i}: pixel accuracy") for i, line in
            enumerate(out.splitlines()[1:4])] == [True] * 3
    assert picture(tmp_path / "predict.png")[..., :3].var() > 100   # not a blank page


def test_model_file_scores_match_the_library(capsys, tmp_path, model_file):
    status, out, err = run(capsys, "predict", "--model", model_file, "--shapes", 4,
                           "--out", tmp_path / "new" / "folder")
    assert status == 0, err
    model, _ = nn.load_model(model_file)
    images, labels = shapes(4, size=32, seed=3, split="val")
    c = confusion_matrix(model.forward(images).argmax(axis=1), labels, 6)
    assert (f"all 4: pixel accuracy {pixel_accuracy(c):.3f}, mean IoU {mean_iou(c)[0]:.3f}"
            in out)
    assert "seed 3, 32x32" in out
    assert picture(tmp_path / "new" / "folder" / "predict.png")[..., :3].var() > 100


def test_another_seed_gives_other_images(capsys, tmp_path, model_file):
    outs = [run(capsys, "predict", "--model", model_file, "--shapes", 2, "--seed", seed,
                "--out", tmp_path / str(seed))[1] for seed in (3, 4)]
    assert "seed 4," in outs[1] and outs[0].splitlines()[1:] != outs[1].splitlines()[1:]


def test_refuses_to_overwrite(capsys, tmp_path, model_file):
    target = tmp_path / "predict.png"
    target.write_bytes(b"keep")
    status, _, err = run(capsys, "predict", "--model", model_file, "--out", tmp_path)
    assert status == 2 and "would overwrite" in err and "--overwrite" in err
    assert len(err.strip().splitlines()) == 1 and target.read_bytes() == b"keep"
    status, _, err = run(capsys, "predict", "--model", model_file, "--shapes", 2, "--out",
                         tmp_path, "--overwrite")
    assert status == 0, err
    assert target.read_bytes()[:4] == b"\x89PNG"


def test_image_files(capsys, tmp_path, model_file):
    """Colour and grey files of any size: read as grey, cropped and resized, no truth."""
    rng = np.random.default_rng(0)
    colour = (rng.uniform(size=(50, 70, 3)) * 255).astype(np.uint8)
    colour[10:30, 20:40] = [250, 20, 20]
    iio.imwrite(tmp_path / "colour.png", colour)
    iio.imwrite(tmp_path / "grey.png", (rng.uniform(size=(20, 24)) * 65535).astype(np.uint16))
    status, out, err = run(capsys, "predict", "--model", model_file, "--images",
                           tmp_path / "colour.png", tmp_path / "grey.png", "--out",
                           tmp_path / "out")
    assert status == 0, err
    assert "2 image file(s), 32x32" in out and "pixel accuracy" not in out
    assert picture(tmp_path / "out" / "predict.png")[..., :3].var() > 100


@pytest.mark.parametrize("argv, words", [
    (["--pretrained", "vgg16"], ["fcn8s", "fcn32s-bilinear"]),
    (["--shapes", "0"], ["from 1 to 32"]),
    (["--shapes", "33"], ["from 1 to 32"]),
    (["--model", "no-such-file.npz"], ["--model", "no such file"]),
    (["--images", "no-such-file.png"], ["no such file"]),
    (["--images", "a.png", "--seed", "1"], ["--seed", "--images"]),
    (["--model", "x.npz", "--pretrained", "fcn8s"], ["not allowed with"]),
    (["--shapes", "2", "--images", "a.png"], ["not allowed with"]),
])
def test_errors_exit_2_with_one_line(capsys, tmp_path, monkeypatch, argv, words):
    monkeypatch.chdir(tmp_path)
    status, out, err = run(capsys, "predict", *argv)
    assert status == 2 and len(err.strip().splitlines()) == 1
    assert all(w in err for w in words), err
    assert not (tmp_path / "deconvkit-predict" / "predict.png").exists()


def test_not_a_model_file(capsys, tmp_path):
    np.savez(tmp_path / "weights.npz", w=np.zeros(3))
    status, _, err = run(capsys, "predict", "--model", tmp_path / "weights.npz", "--out",
                         tmp_path)
    assert status == 2 and "not a model file" in err


def test_without_matplotlib_names_the_extra(capsys, tmp_path, monkeypatch, model_file):
    monkeypatch.setitem(sys.modules, "matplotlib", None)   # import matplotlib fails
    status, _, err = run(capsys, "predict", "--model", model_file, "--out", tmp_path)
    assert status == 2 and "deconvkit[viz]" in err
    assert not (tmp_path / "predict.png").exists()


def test_the_picture_function_never_replaces_a_file_unless_asked(tmp_path):
    from deconvkit.train.pictures import predictions_picture
    images = np.random.default_rng(0).random((2, 3, 16, 16))
    predictions = np.zeros((2, 16, 16), dtype=int)
    path = tmp_path / "p.png"
    path.write_bytes(b"keep")
    with pytest.raises(ValueError, match="would overwrite"):
        predictions_picture(images, predictions, path)
    assert path.read_bytes() == b"keep"
    predictions_picture(images, predictions, path, overwrite=True)
    assert path.read_bytes()[:4] == b"\x89PNG"

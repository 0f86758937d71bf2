"""The shipped weights (deconvkit.nn.pretrained): they still score what their meta reports.

The model files are part of the package; a checkout without them fails here (it does
not skip): `make weights` produces them.
"""

import numpy as np
import pytest

from deconvkit import nn
from deconvkit.datasets import CLASSES, shapes
from deconvkit.train.loop import predict
from deconvkit.train.metrics import confusion_matrix, mean_iou

EXPECTED = {"fcn8s": ("fcn8s", "learned_bilinear"), "fcn32s-bilinear": ("fcn32s", "bilinear")}


def test_every_shipped_name_is_tested():
    assert set(nn.PRETRAINED) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_shipped_weights_reach_the_reported_iou(name):
    model, meta = nn.pretrained(name)
    assert (model.head, model.upsampling) == EXPECTED[name]
    assert meta["config"]["head"] == model.head and meta["name"] == f"{model.head}/" \
        f"{model.upsampling}"
    data = meta["data"]
    assert data["val_split"] == "val"
    images, labels = shapes(data["n_val"], size=data["size"], seed=data["seed"],
                            split=data["val_split"])
    before = {k: v.copy() for k, v in model.state_dict().items()}
    model.train()                       # predict must put it in eval mode (BatchNorm stats)
    pred = predict(model, images).argmax(axis=1)
    miou, per_class = mean_iou(confusion_matrix(pred, labels, len(CLASSES)))
    assert miou == pytest.approx(meta["mean_iou"], abs=0.01)
    reported = np.array([np.nan if v is None else v for v in meta["iou_per_class"]])
    np.testing.assert_allclose(per_class, reported, atol=0.02)
    for k, v in model.state_dict().items():   # evaluation changed no weight or statistic
        np.testing.assert_array_equal(v, before[k], err_msg=k)


def test_fcn8s_is_the_converged_model():
    """What the README claims of the shipped FCN-8s: trained to convergence, every
    shape class segmented."""
    _, meta = nn.pretrained("fcn8s")
    assert meta["mean_iou"] > 0.6 and min(meta["iou_per_class"]) > 0.4
    assert meta["config"]["epochs"] >= 20 and meta["data"]["n_train"] >= 1000


def test_each_call_gives_a_fresh_model():
    first, meta = nn.pretrained("fcn8s")
    reference = first.score8.weight.data.copy()
    first.score8.weight.data[...] = 0.0
    meta["mean_iou"] = -1.0
    second, meta2 = nn.pretrained("fcn8s")
    assert second is not first
    np.testing.assert_array_equal(second.score8.weight.data, reference)
    assert meta2["mean_iou"] > 0


@pytest.mark.parametrize("name", ["vgg16", "", None, 8, "FCN8S"])
def test_unknown_name_lists_the_choices(name):
    with pytest.raises(ValueError, match="choose one of 'fcn8s', 'fcn32s-bilinear'"):
        nn.pretrained(name)


def test_missing_file_says_how_to_produce_it(monkeypatch, tmp_path):
    from deconvkit.nn import zoo

    monkeypatch.setattr(zoo, "pretrained_path", lambda name: tmp_path / "fcn8s.npz")
    with pytest.raises(FileNotFoundError, match="make weights"):
        nn.pretrained("fcn8s")


def test_path_is_in_the_package():
    import deconvkit

    path = nn.pretrained_path("fcn32s-bilinear")
    assert path.parent.name == "models" and path.name == "fcn32s-bilinear.npz"
    assert path.parent.parent.resolve() == type(path)(deconvkit.__file__).parent.resolve()

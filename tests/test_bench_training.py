"""The training benchmark runs, reports positive rates, and trains the same model twice."""

import io

import pytest

from deconvkit import nn
from deconvkit.bench import training
from deconvkit.cli import main


def test_run_reports_rates_ratio_and_breakdown():
    out = io.StringIO()
    result = training.run(batch=2, size=16, rounds=1, block_time=0.0, breakdown_steps=1,
                          out=out)
    rates = result["images_per_s"]
    assert rates["deconvkit"] > 0
    classes = {name for name, _ in result["breakdown"]}
    assert {"Conv", "BatchNorm", "ReLU", "MaxPool", "ConvTranspose", "SGD"} <= classes
    assert ("Conv", "backward, weight grad") in result["breakdown"]
    assert ("Conv", "backward, input grad") in result["breakdown"]
    assert all(t >= 0 for t in result["breakdown"].values())
    text = out.getvalue()
    assert "images/s" in text and "Where deconvkit's step goes" in text
    if "torch" in rates:
        assert rates["torch"] > 0 and "deconvkit / torch images/s" in text
        conv = result["parts"][("convolution", "backward")]
        assert conv["deconvkit"] > 0 and conv["torch"] > 0
    else:
        assert "skipped torch" in text


def test_first_step_losses_agree_with_pytorch():
    pytest.importorskip("torch")
    setup = training.TrainingSetup(batch=2, size=16, width=4)
    ours = training.deconvkit_step(setup)()
    theirs, note = training.torch_step(setup)
    assert note is None
    assert abs(ours - theirs()) <= 1e-5 * abs(ours)


def test_timers_are_removed_after_the_breakdown():
    setup = training.TrainingSetup(batch=2, size=16, width=4)
    training.layer_breakdown(setup, steps=1)
    for _, m in setup.net.named_modules():
        assert "forward" not in vars(m) and "backward" not in vars(m)
    assert "step" not in vars(setup.optimizer)


def test_mirror_rejects_layers_it_cannot_copy():
    pytest.importorskip("torch")
    from deconvkit.bench import torch_fcn
    with pytest.raises(ValueError, match="no PyTorch mirror"):
        torch_fcn.mirror(nn.fcn("fcn8s", "pixel_shuffle", width=4))


def test_method_reaches_every_convolution_layer():
    setup = training.TrainingSetup(batch=2, size=16, width=4, method="gemm")
    layers = [m for _, m in setup.net.named_modules()
              if isinstance(m, (nn.Conv, nn.ConvTranspose))]
    assert layers and all(m.method == "gemm" for m in layers)
    assert training.first_conv(setup.net).needs_input_grad is False


@pytest.mark.parametrize("kwargs, match", [(dict(size=20), "multiple of 8"),
                                           (dict(batch=0), "batch"),
                                           (dict(method="fastest"), "method must be")])
def test_bad_sizes_are_value_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        training.TrainingSetup(**kwargs)


def test_cli_training_flag(capsys):
    assert main(["bench", "--training", "--batch", "2", "--size", "16", "--rounds", "1",
                 "--block-time", "0"]) == 0
    assert "images/s" in capsys.readouterr().out
    assert main(["bench", "--training", "--size", "12"]) == 2
    assert "multiple of 8" in capsys.readouterr().err
    assert main(["bench", "--training", "--threads", "0"]) == 2
    assert "number of threads" in capsys.readouterr().err
    assert main(["bench", "--batch", "4"]) == 2
    assert "apply to --training only" in capsys.readouterr().err


def test_threads_apply_to_the_run_only():
    from deconvkit.threads import get_num_threads
    before = get_num_threads()
    result = training.run(batch=2, size=16, rounds=1, block_time=0.0, breakdown_steps=1,
                          threads=1, out=io.StringIO())
    assert result["threads"] == 1 and get_num_threads() == before

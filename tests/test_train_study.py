import dataclasses
import json

import numpy as np
import pytest

from deconvkit import nn
from deconvkit.cli import main
from deconvkit.train import DataConfig, RunConfig
from deconvkit.train.recipes import Recipe
from deconvkit.train.study import _verdict, load_study, run_study, study_configs, study_table

TINY = Recipe("tiny", RunConfig(epochs=1, width=2, batch_size=8),
              DataConfig(n_train=16, n_val=8, size=16, seed=0))


def test_the_study_has_every_variant_once_per_seed_on_the_recipe():
    configs = study_configs("converge", (0, 1, 2))
    names = [c.name for c, _ in configs]
    assert len(configs) == 3 * (len(nn.UPSAMPLINGS) + 2)
    assert {n for n in names if n.startswith("fcn32s")} == {f"fcn32s/{u}" for u in
                                                           nn.UPSAMPLINGS}
    assert names.count("fcn8s/learned_bilinear") == 3
    recipe = study_configs("converge", (0,))[0]
    from deconvkit.train import get_recipe
    want = get_recipe("converge")
    for config, data in study_configs("converge", (0, 5)):
        assert data == want.data
        assert dataclasses.replace(config, head=want.config.head,
                                   upsampling=want.config.upsampling,
                                   seed=want.config.seed) == want.config
    assert recipe[0].seed == 0


def test_runs_are_written_once_and_resumed(tmp_path):
    logged = []
    only = ["fcn32s/bilinear", "fcn8s/learned_bilinear"]
    written = run_study(tmp_path, TINY, (0, 1), only=only, progress=False, log=logged.append,
                        save_models=True)
    assert sorted(p.name for p in written) == [
        "fcn32s-bilinear-seed0.json", "fcn32s-bilinear-seed1.json",
        "fcn8s-learned_bilinear-seed0.json", "fcn8s-learned_bilinear-seed1.json"]
    assert len(logged) == 4
    stamp = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    assert run_study(tmp_path, TINY, (0, 1), only=only, progress=False, log=logged.append) == []
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()} == stamp
    runs = load_study(tmp_path)
    assert [r["config"]["seed"] for r in runs["fcn32s/bilinear"]] == [0, 1]
    summary = json.loads((tmp_path / "fcn32s-bilinear-seed1.json").read_text())
    assert summary["recipe"] == "tiny" and len(summary["curve"]) == 1
    # different seeds are different runs
    assert summary["losses"] != runs["fcn32s/bilinear"][0]["losses"]
    model, meta = nn.load_model(tmp_path / "fcn32s-bilinear-seed1.npz")
    assert meta["mean_iou"] == summary["mean_iou"] and meta["recipe"] == "tiny"
    assert model.config["head"] == "fcn32s" and model.config["width"] == 2
    table = study_table(tmp_path)
    mean = np.mean([r["mean_iou"] for r in runs["fcn8s/learned_bilinear"]])
    assert f"**{mean:.3f}**" in table
    assert "| fcn32s/bilinear | 2 |" in table


def test_verdicts_compare_the_gap_with_the_spread():
    assert _verdict([0.7, 0.72], [0.6, 0.65]).startswith("**better**")
    assert _verdict([0.6, 0.62], [0.61, 0.7]).startswith("tie")
    assert _verdict([0.5, 0.55], [0.6, 0.65]).startswith("**worse**")
    assert _verdict([0.7], [0.6, 0.65]) == "one seed: no spread yet"


def test_unknown_variants_are_refused_before_any_training(tmp_path):
    with pytest.raises(ValueError, match=r"only: unknown variants \['fcn8s/bilinear'\]"):
        run_study(tmp_path / "s", TINY, (0,), only=["fcn8s/bilinear"])
    assert not (tmp_path / "s").exists()


def test_the_cli_refuses_save_model_with_a_study(tmp_path, capsys):
    assert main(["train", "--study", "converge", "--out", str(tmp_path),
                 "--save-model", str(tmp_path / "m.npz")]) == 2
    assert "--save-model" in capsys.readouterr().err
    assert main(["train", "--study", "converge", "--quick"]) == 2


def test_the_committed_study_and_the_readme_show_the_committed_runs():
    """study.md and the README's table are what the runs in benchmarks/train/converged
    give: a run added without regenerating them (or a hand edit) fails here."""
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    folder = root / "benchmarks" / "train" / "converged"
    table = study_table(folder)
    assert (folder / "study.md").read_text() == table
    assert table in (root / "README.md").read_text()
    seeds = {name: len(runs) for name, runs in load_study(folder).items()}
    assert set(seeds) == {c.name for c, _ in study_configs("converge", (0,))}


def _committed_runs(tmp_path, seeds=(0,)):
    """The committed run files of ``seeds`` copied into ``tmp_path``."""
    import shutil
    from pathlib import Path
    folder = Path(__file__).resolve().parents[1] / "benchmarks" / "train" / "converged"
    for path in folder.glob("*-seed*.json"):
        if int(path.stem.rsplit("seed", 1)[1]) in seeds:
            shutil.copy(path, tmp_path / path.name)
    return tmp_path


def test_the_study_picture_draws_the_runs_and_never_replaces_a_file(tmp_path):
    pytest.importorskip("matplotlib")
    from PIL import Image

    from deconvkit.train.study_picture import study_picture
    (tmp_path / "runs").mkdir()
    runs = _committed_runs(tmp_path / "runs")
    path = study_picture(runs, tmp_path / "pictures" / "study.png")
    with Image.open(path) as image:
        assert image.size == (1210, 506) and image.format == "PNG"
        pixels = np.asarray(image.convert("RGB")).reshape(-1, 3)
    assert len(np.unique(pixels, axis=0)) > 50                       # drawn, not blank
    before = path.read_bytes()
    with pytest.raises(ValueError, match="would overwrite"):
        study_picture(runs, path)
    assert path.read_bytes() == before
    (runs / "fcn32s-resize_conv-seed0.json").unlink()              # one variant fewer
    assert study_picture(runs, path, overwrite=True).read_bytes() != before
    with pytest.raises(ValueError, match="folder: no study runs"):
        study_picture(tmp_path / "pictures", tmp_path / "other.png")


def test_the_study_cli_writes_the_table_and_the_picture_without_training(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    _committed_runs(tmp_path)
    stamp = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    assert main(["train", "--study", "converge", "--seeds", "0", "--out", str(tmp_path),
                 "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "wrote" in out and (tmp_path / "study.png").stat().st_size > 10_000
    assert (tmp_path / "study.md").read_text() == study_table(tmp_path)
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()
            if p.name in stamp} == stamp                          # no run trained again

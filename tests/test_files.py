"""Files are written whole or not at all, and never over a file that exists."""

import os
import stat

import numpy as np
import pytest

from deconvkit import _files, nn
from deconvkit.sparse import save_filters


def refuse():
    return FileExistsError("exists; pass overwrite=True")


def test_writes_exactly_the_bytes_at_exactly_the_path(tmp_path):
    path = tmp_path / "a.bin"
    _files.write_file(path, lambda f: f.write(b"abc"), overwrite=False, exists_error=refuse)
    assert path.read_bytes() == b"abc" and os.listdir(tmp_path) == ["a.bin"]
    _files.write_file(path, lambda f: f.write(b"xy"), overwrite=True, exists_error=refuse)
    assert path.read_bytes() == b"xy" and os.listdir(tmp_path) == ["a.bin"]


@pytest.mark.parametrize("hard_links", [True, False])
def test_a_file_that_appears_during_the_write_is_kept_and_the_write_refused(
        tmp_path, monkeypatch, hard_links):
    if not hard_links:
        def no_links(*args):
            raise PermissionError("operation not permitted")
        monkeypatch.setattr(os, "link", no_links)
    path = tmp_path / "a.bin"

    def write(file):
        file.write(b"ours")
        path.write_bytes(b"theirs")   # another process creates the file meanwhile

    with pytest.raises(FileExistsError, match="overwrite=True"):
        _files.write_file(path, write, overwrite=False, exists_error=refuse)
    assert path.read_bytes() == b"theirs" and os.listdir(tmp_path) == ["a.bin"]


def test_without_hard_links_a_new_file_is_still_written(tmp_path, monkeypatch):
    def no_links(*args):
        raise PermissionError("operation not permitted")
    monkeypatch.setattr(os, "link", no_links)
    path = tmp_path / "a.bin"
    _files.write_file(path, lambda f: f.write(b"abc"), overwrite=False, exists_error=refuse)
    assert path.read_bytes() == b"abc" and os.listdir(tmp_path) == ["a.bin"]


@pytest.mark.parametrize("overwrite", [True, False])
def test_a_failed_write_leaves_what_was_there_and_no_temporary(tmp_path, overwrite):
    path = tmp_path / "a.bin"
    if overwrite:
        path.write_bytes(b"old")

    def fail(file):
        file.write(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        _files.write_file(path, fail, overwrite=overwrite, exists_error=refuse)
    assert os.listdir(tmp_path) == (["a.bin"] if overwrite else [])
    if overwrite:
        assert path.read_bytes() == b"old"


def test_an_existing_file_is_refused_before_any_work(tmp_path):
    path = tmp_path / "a.bin"
    path.write_bytes(b"old")
    calls = []
    with pytest.raises(FileExistsError):
        _files.write_file(path, calls.append, overwrite=False, exists_error=refuse)
    assert calls == [] and path.read_bytes() == b"old"


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_permissions_are_those_of_a_plain_open(tmp_path, umask):
    old = os.umask(umask)
    try:
        with open(tmp_path / "plain", "wb") as f:
            f.write(b"x")
        _files.write_file(tmp_path / "ours", lambda f: f.write(b"x"), overwrite=False,
                          exists_error=refuse)
    finally:
        os.umask(old)
    mode = [stat.S_IMODE(os.stat(tmp_path / name).st_mode) for name in ("plain", "ours")]
    assert mode[0] == mode[1] == 0o666 & ~umask


@pytest.mark.parametrize("overwrite", [1, "yes", None])
def test_overwrite_must_be_a_bool(tmp_path, overwrite):
    with pytest.raises(TypeError, match=f"overwrite must be True or False, got {overwrite!r}"):
        _files.write_file(tmp_path / "a", lambda f: None, overwrite=overwrite,
                          exists_error=refuse)


def _appearing(monkeypatch, path):
    """np.savez_compressed that lets another writer create ``path`` first."""
    real = np.savez_compressed

    def savez(file, **arrays):
        path.write_bytes(b"theirs")
        real(file, **arrays)

    monkeypatch.setattr(np, "savez_compressed", savez)


def test_save_filters_refuses_a_file_that_appears_meanwhile(tmp_path, monkeypatch):
    path = tmp_path / "filters.npz"
    _appearing(monkeypatch, path)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        save_filters(path, np.ones((2, 1, 3, 3)))
    assert path.read_bytes() == b"theirs" and os.listdir(tmp_path) == ["filters.npz"]


def test_save_model_refuses_a_file_that_appears_meanwhile(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    model = nn.fcn("fcn32s", num_classes=3, width=2)
    _appearing(monkeypatch, path)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        nn.save_model(model, path)
    assert path.read_bytes() == b"theirs" and os.listdir(tmp_path) == ["model.npz"]


def test_save_model_that_fails_keeps_the_old_model(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    model = nn.fcn("fcn32s", num_classes=3, width=2)
    nn.save_model(model, path)
    before = path.read_bytes()

    def fail(file, **arrays):
        file.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez_compressed", fail)
    with pytest.raises(OSError, match="disk full"):
        nn.save_model(model, path, overwrite=True)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["model.npz"]
    monkeypatch.undo()
    loaded, _ = nn.load_model(path)
    assert loaded.config == model.config

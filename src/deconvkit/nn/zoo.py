"""Trained FCNs that ship with deconvkit: :func:`pretrained` loads one by name.

The weights are files of :func:`~deconvkit.nn.save_model` in the package folder
``deconvkit/models``, trained on the generated ``shapes`` data with the
``converge`` recipe (:data:`deconvkit.train.RECIPES`). ``make weights`` in the
repository trains them again (about 25 minutes per model on one core); the
``meta`` stored with each file says how it was trained and what it scored on the
validation split, which :func:`deconvkit.datasets.shapes` regenerates exactly.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["PRETRAINED", "pretrained", "pretrained_path"]

PRETRAINED = {
    "fcn8s": ("fcn8s.npz", "FCN-8s with learned bilinear upsampling, trained to "
                           "convergence on shapes (the converge recipe)"),
    "fcn32s-bilinear": ("fcn32s-bilinear.npz", "FCN-32s with fixed bilinear upsampling, the "
                                               "baseline, same recipe and budget"),
}
"""Name -> ``(file name in deconvkit/models, one-line description)``."""


def _check_name(name) -> str:
    if not isinstance(name, str) or name not in PRETRAINED:
        choices = ", ".join(f"{k!r}" for k in PRETRAINED)
        raise ValueError(f"unknown pretrained model {name!r}; choose one of {choices}")
    return name


def pretrained_path(name: str) -> Path:
    """Where the weights of the shipped model ``name`` live (the file may be missing).

    Parameters
    ----------
    name : str
        A key of :data:`PRETRAINED`.

    Returns
    -------
    path : Path
        ``<deconvkit package>/models/<file>``.

    Examples
    --------
    >>> pretrained_path("fcn8s").name
    'fcn8s.npz'
    >>> pretrained_path("vgg16")
    Traceback (most recent call last):
    ...
    ValueError: unknown pretrained model 'vgg16'; choose one of 'fcn8s', 'fcn32s-bilinear'
    """
    file = PRETRAINED[_check_name(name)][0]
    return Path(str(resources.files("deconvkit").joinpath("models", file)))


def pretrained(name: str = "fcn8s"):
    """A trained FCN that ships with deconvkit, and what it scored.

    Parameters
    ----------
    name : str
        A key of :data:`PRETRAINED`: ``"fcn8s"`` (FCN-8s, learned bilinear upsampling)
        or ``"fcn32s-bilinear"`` (FCN-32s, fixed bilinear upsampling).

    Returns
    -------
    model : FCN
        A new model on every call (changing it changes no later call's), in
        evaluation mode; ``forward`` maps ``(N, 3, H, W)`` images in [0, 1], ``H`` and
        ``W`` multiples of 8, to ``(N, 6, H, W)`` class scores
        (:data:`deconvkit.datasets.CLASSES`).
    meta : dict
        How it was trained and how it scored on its validation split: ``name``,
        ``config`` (the :class:`~deconvkit.train.RunConfig`), ``mean_iou``,
        ``iou_per_class``, ``pixel_accuracy``, ``boundary_f1``, ``checkerboard``,
        ``train_seconds``, ``train_images``, ``images_per_second`` and ``data`` (the
        ``shapes`` arguments: ``n_train``, ``n_val``, ``size``, ``seed``, ``val_split``).

    Raises
    ------
    ValueError
        For an unknown ``name`` (the message lists the choices).
    FileNotFoundError
        When the weights file is missing (a source checkout without them: run
        ``make weights``).

    Examples
    --------
    >>> from deconvkit import nn
    >>> from deconvkit.datasets import shapes
    >>> model, meta = nn.pretrained("fcn8s")
    >>> model.config["head"], meta["config"]["upsampling"]
    ('fcn8s', 'learned_bilinear')
    >>> images, labels = shapes(2, size=meta["data"]["size"], split="val")
    >>> prediction = model.forward(images).argmax(axis=1)    # a class per pixel
    >>> prediction.shape == labels.shape
    True
    """
    from .io import load_model

    path = pretrained_path(name)
    if not path.is_file():
        raise FileNotFoundError(
            f"the weights of pretrained model {name!r} are missing ({path}); produce them "
            f"with `make weights` in the deconvkit repository (about 25 minutes per model "
            f"on one core), or install a deconvkit release that ships them")
    return load_model(path)

"""Property-based fuzz of the ``deconvkit`` command (issue 10, item 5).

``deconvkit.cli.main(argv)`` with fuzzed argv for explain, translate, bench, train and
sparse must end with status 0 or 2 (returned, or through SystemExit), raise nothing else,
print one line on stderr when the status is 2, finish within a few seconds, and write files
only into the temporary folder it runs in. bench, train and sparse get only arguments that
a correct CLI refuses before doing any work (or --help), so nothing is trained or learned.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile

from hypothesis import given
from hypothesis import strategies as st

from fuzz_strategies import (INTERNAL_MESSAGES, CallTooSlow, fuzz_settings, memory_limit,
                             time_limit)

# Import up front whatever a command may import, so that a time-out never interrupts an
# import half way (a half-imported torch breaks every later test in the process).
import importlib

for _name in ("torch", "onnx", "onnxruntime", "matplotlib", "matplotlib.pyplot", "tqdm",
              "deconvkit.cli", "deconvkit.bench", "deconvkit.bench.training",
              "deconvkit.bench.machine", "deconvkit.train", "deconvkit.explain",
              "deconvkit.conventions", "deconvkit.nn", "deconvkit.datasets"):
    try:
        importlib.import_module(_name)
    except ImportError:
        pass

CLI_SECONDS = 5.0
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_cli(argv, prepare=None, inspect=None):
    """Run ``main(argv)`` in a fresh temporary folder; (status, stdout, stderr).

    ``prepare(tmp)`` runs before, ``inspect(tmp)`` after the command, both in the folder."""
    from deconvkit.cli import main

    before = sorted(os.listdir(REPO))
    cwd = os.getcwd()
    out, err = io.StringIO(), io.StringIO()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        try:
            if prepare:
                prepare(tmp)
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), \
                    memory_limit(), time_limit(CLI_SECONDS):
                try:
                    status = main(list(argv))
                except SystemExit as exc:
                    status = 0 if exc.code is None else exc.code
            if inspect:
                inspect(tmp)
        except CallTooSlow:
            raise AssertionError(f"deconvkit {' '.join(argv)} ran longer than "
                                 f"{CLI_SECONDS} s") from None
        finally:
            os.chdir(cwd)
    assert sorted(os.listdir(REPO)) == before, "the command wrote into the project folder"
    return status, out.getvalue(), err.getvalue()


def check_outcome(argv, status, stdout, stderr, *, must_fail=False):
    command = "deconvkit " + " ".join(argv)
    assert status in (0, 2), f"{command} ended with status {status!r}"
    if status == 2:
        lines = stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].strip(), \
            f"{command}: status 2 needs one line on stderr, got {stderr!r}"
        assert "Traceback" not in stderr
        found = INTERNAL_MESSAGES.search(lines[0])
        assert found is None, f"{command}: the error is Python's own words: {lines[0]}"
    helped = any(a in ("-h", "--help") for a in argv)
    if must_fail and not helped:
        assert status == 2, f"{command} accepted an invalid argument (status {status})"


# ---------------------------------------------------------------------------- values

INT_TEXT = st.one_of(
    st.integers(-3, 9).map(str),
    st.sampled_from(["0", "-1", "1" + "0" * 30, str(2**63), str(2**64), "100000000",
                     "1e3", "nan", "x", "", " ", "٣", "2.0", "+2", "0x10", "1_0"]),
)
SIZE_TEXT = st.one_of(
    st.lists(st.integers(1, 7), min_size=1, max_size=3).map(lambda v: "x".join(map(str, v))),
    st.lists(st.integers(1, 7), min_size=1, max_size=3).map(lambda v: ",".join(map(str, v))),
    INT_TEXT,
    st.sampled_from(["3000x3000", "4x", "x4", "4xx4", "4x-1", "0x4", "1x1x1x1", "2,2,2,2",
                     "4x" + "1" * 25, "99999x99999"]),
)
PADDING_TEXT = st.one_of(
    st.sampled_from(["1", "0", "2", "same", "valid", "SAME", "1,0", "1:0,0:1", "2:1", ":",
                     "1:2:3", "-1", "1:-1", "same_upper", "same_lower", "notset", "full",
                     "1" + "0" * 20, "0:" + "9" * 20]),
    INT_TEXT,
)
WEIGHTS_TEXT = st.sampled_from(["0,1,2", "1", "nan,inf,1", "1 2 3 4 5 6 7 8 9", "x", "",
                                ",", "1e400", "-0", "1,2"])
FRAMEWORK_TEXT = st.sampled_from(["torch", "pytorch", "tensorflow", "tf", "keras", "onnx",
                                  "caffe", "jax", "TORCH", "mxnet", "", "lax"])


def options(table):
    """A few ``--flag value`` pairs from ``table`` (value strategy or None for a flag)."""
    @st.composite
    def build(draw):
        names = draw(st.lists(st.sampled_from(sorted(table)), max_size=5, unique=True))
        argv = []
        for name in names:
            argv.append(name)
            if table[name] is not None:
                argv.append(draw(table[name]))
        return argv
    return build()


EXPLAIN = {"--input": SIZE_TEXT, "--kernel": SIZE_TEXT, "--stride": INT_TEXT,
           "--padding": PADDING_TEXT, "--dilation": INT_TEXT, "--output-padding": INT_TEXT,
           "--weights": WEIGHTS_TEXT, "--full": None}
TRANSLATE = {"--input": SIZE_TEXT, "--kernel": SIZE_TEXT, "--stride": INT_TEXT,
             "--padding": PADDING_TEXT, "--dilation": INT_TEXT, "--output-padding": INT_TEXT,
             "--output-size": SIZE_TEXT, "--groups": INT_TEXT, "--consistent-padding": None}


@fuzz_settings()
@given(st.one_of(
    st.builds(lambda o: ["explain"] + o, options(EXPLAIN)),
    st.builds(lambda a, b, o: ["translate", "--from", a, "--to", b] + o,
              FRAMEWORK_TEXT, FRAMEWORK_TEXT, options(TRANSLATE)),
    st.builds(lambda o: ["translate"] + o, options(TRANSLATE)),
    st.lists(st.sampled_from(["explain", "translate", "--help", "-h", "--bogus", "",
                              "explain --input 5", "--input", "5"]), max_size=3),
    st.sampled_from([["bench", "--help"], ["train", "-h"], ["bench", "--bogus"],
                     ["train", "--bogus"], ["--version"]]),
))
def test_cli_explain_translate(argv):
    status, stdout, stderr = run_cli(argv)
    check_outcome(argv, status, stdout, stderr)
    if status == 0 and argv and argv[0] in ("explain", "translate") and \
            not any(a in ("-h", "--help") for a in argv):
        assert stdout.strip(), f"deconvkit {' '.join(argv)} succeeded with no output"


# ---------------------------------------------------------------------------- bench, train

BENCH_INVALID = [
    ["--rounds", "0"], ["--rounds", "-1"], ["--rounds", "x"], ["--rounds", "1" + "0" * 30],
    ["--block-time", "-1"], ["--block-time", "nan"], ["--block-time", "inf"],
    ["--block-time", "-inf"], ["--cases", "S9"], ["--cases", ""], ["--cases", ","],
    ["--markdown", "nodir/x.md"], ["--markdown", "existing.md"], ["--markdown", "afile/x.md"],
    ["--markdown", "."], ["--training", "--cases", "S1"], ["--batch", "4"],
    ["--training", "--size", "7"], ["--training", "--size", "0"],
    ["--training", "--batch", "0"], ["--training", "--threads", "0"],
    ["--training", "--batch", "-2"], ["--method", "bogus"], ["--bogus"], ["--help"],
]
BENCH_EXTRA = [["--cases", "S1"], ["--rounds", "1"], ["--block-time", "0.01"],
               ["--method", "direct"]]
TRAIN_INVALID = [
    ["--epochs", "0"], ["--epochs", "-1"], ["--batch-size", "0"], ["--batch-size", "-4"],
    ["--lr", "nan"], ["--lr", "-1"], ["--lr", "inf"], ["--width", "0"],
    ["--size", "7"], ["--size", "0"], ["--size", "-8"], ["--n-train", "0"],
    ["--n-val", "0"], ["--n-train", "-5"], ["--head", "bogus"], ["--upsampling", "x"],
    ["--optimizer", "rmsprop"], ["--report", "afile/r.json"], ["--out", "afile"],
    ["--seed", "-1"], ["--data-seed", "-1"], ["--data-seed", "x"], ["--quick", "--compare"],
    ["--epochs", "1" + "0" * 30], ["--width", "1" + "0" * 20], ["--help"],
]
TRAIN_EXTRA = [["--quick"], ["--epochs", "1"], ["--no-figures"], ["--no-progress"],
               ["--head", "fcn32s"], ["--width", "4"], ["--n-train", "8"], ["--n-val", "4"],
               ["--batch-size", "2"], ["--size", "16"], ["--overwrite"]]

SPARSE_INVALID = [
    ["--filters", "0"], ["--filters", "-3"], ["--kernel", "0"], ["--kernel", "999"],
    ["--lam", "-1"], ["--lam", "nan"], ["--lam", "inf"], ["--iterations", "0"],
    ["--iterations", "1" + "0" * 30], ["--method", "ista"], ["--source", "x"],
    ["--n-images", "0"], ["--size", "0"], ["--seed", "-1"], ["--out", "afile"],
    ["--images", "nodir"], ["--images", "afile"], ["--bogus"], ["--help"],
]
SPARSE_EXTRA = [["--filters", "2"], ["--kernel", "3"], ["--size", "16"], ["--n-images", "1"],
                ["--iterations", "1"], ["--no-progress"], ["--overwrite"], ["--lam", "0.5"]]
VISUALIZE_INVALID = [
    ["nomodel.npz"], ["afile"], ["--pretrained", "bogus"], ["--top", "0"], ["--top", "-1"],
    ["--channels", "-1"], ["--mode", "x"], ["--n-images", "0"], ["--seed", "-2"],
    ["--out", "afile/x.png"], ["--out", "existing.md"], ["--bogus"], ["--help"],
]
VISUALIZE_EXTRA = [["--top", "2"], ["--n-images", "4"], ["--layer", "stage1"],
                   ["--mode", "gradient"], ["--channels", "0"]]


def _prepare(tmp):
    with open(os.path.join(tmp, "existing.md"), "w") as f:
        f.write("keep me\n")
    with open(os.path.join(tmp, "afile"), "w") as f:
        f.write("a file, not a folder\n")


@st.composite
def invalid_argv(draw, command, invalid, extra):
    bad = draw(st.lists(st.sampled_from(invalid), min_size=1, max_size=2))
    good = draw(st.lists(st.sampled_from(extra), max_size=3))
    # the invalid options last, so that no valid repetition of an option overrides them
    parts = draw(st.permutations(good)) + draw(st.permutations(bad))
    return [command] + [a for part in parts for a in part]


@st.composite
def sparse_argv(draw):
    """``sparse learn`` (its images always given, so an error is the invalid option's) or
    ``sparse visualize`` with at least one invalid argument."""
    if draw(st.booleans()):
        argv = draw(invalid_argv("learn", SPARSE_INVALID, SPARSE_EXTRA))
        if "--images" not in argv:
            argv = argv + ["--demo"] if "--source" in argv else argv + ["--images", "afile"]
        return ["sparse"] + argv
    return ["sparse"] + draw(invalid_argv("visualize", VISUALIZE_INVALID, VISUALIZE_EXTRA))


@fuzz_settings()
@given(st.one_of(invalid_argv("bench", BENCH_INVALID, BENCH_EXTRA),
                 invalid_argv("train", TRAIN_INVALID, TRAIN_EXTRA), sparse_argv()))
def test_cli_bench_train_sparse_refuse_invalid_arguments(argv):
    """Every argv here has an invalid argument: refused up front (status 2, one line),
    before any benchmark or training runs, and no file written or overwritten."""
    def inspect(tmp):
        with open(os.path.join(tmp, "existing.md")) as f:
            assert f.read() == "keep me\n", f"deconvkit {' '.join(argv)} overwrote a file"

    status, stdout, stderr = run_cli(argv, _prepare, inspect)
    check_outcome(argv, status, stdout, stderr, must_fail=True)

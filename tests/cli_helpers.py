"""What the tests of the ``deconvkit`` command share: run it, and check a usage error."""

from deconvkit.cli import EXIT_USAGE, main


def run(capsys, *argv):
    """``(status, stdout, stderr)`` of ``deconvkit *argv`` (arguments turned into text)."""
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def assert_usage_error(status, out, err, *words):
    """Status 2, nothing on stdout, one line on stderr without a traceback, with ``words``."""
    assert status == EXIT_USAGE and out == ""
    assert err.count("\n") == 1 and " error: " in err and "Traceback" not in err
    for word in words:
        assert word in err, (word, err)

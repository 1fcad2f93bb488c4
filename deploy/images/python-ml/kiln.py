"""Report a Kiln step's results from Python: metrics, outputs and artifacts.

    import kiln
    kiln.log_metric("accuracy", 0.93)       # a line of $KILN_METRICS (a repeated name: a series)
    kiln.output("model_kind", "forest")     # a line of $KILN_OUTPUTS -> steps.ID.outputs.model_kind
    kiln.artifact("model.joblib")           # copies the file (or folder) into $KILN_ARTIFACTS
    path = kiln.artifact_path("report.html")  # where to write an artifact directly

It writes the files of Kiln's step contract (docs/dsl.md, "What a run step sees") and nothing
else, with the standard library only. Outside a Kiln step (the variables unset) every call
raises RuntimeError naming the variable, so a result is never silently lost.
"""

import math
import numbers
import os
import shutil

__all__ = ["log_metric", "output", "artifact", "artifact_path"]


def _contract_path(variable):
    value = os.environ.get(variable)
    if not value:
        raise RuntimeError(
            variable + " is not set: kiln.py reports results of a step that Kiln runs"
        )
    return value


def _key(kind, name):
    if not isinstance(name, str):
        raise TypeError("%s name must be a str, got %r" % (kind, name))
    key = name.strip()
    if not key or "=" in key or "\n" in key or "\r" in key or "\0" in key:
        raise ValueError(
            "%s name %r must be non-empty text without '=', line breaks or NUL" % (kind, name)
        )
    return key


def _append(variable, line):
    with open(_contract_path(variable), "a", encoding="utf-8") as f:
        f.write(line + "\n")


def log_metric(name, value):
    """Records NAME=VALUE in $KILN_METRICS; log the same name again for a series (an epoch curve)."""
    key = _key("metric", name)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError("metric %r must be a number, got %r" % (key, value))
    number = float(value)
    if not math.isfinite(number):
        raise ValueError("metric %r must be a finite number, got %r" % (key, value))
    _append("KILN_METRICS", "%s=%s" % (key, repr(number)))


def output(name, value):
    """Records NAME=VALUE in $KILN_OUTPUTS, read later as ${{ steps.ID.outputs.NAME }}.

    The value is written as str(value) on one line: a value with a line break or NUL is refused
    (write it as an artifact). A later output of the same name replaces the earlier one.
    """
    key = _key("output", name)
    text = value if isinstance(value, str) else str(value)
    if "\n" in text or "\r" in text or "\0" in text:
        raise ValueError(
            "output %r must be one line without NUL; write longer results as an artifact" % key
        )
    _append("KILN_OUTPUTS", "%s=%s" % (key, text))


def artifact_path(name):
    """The path of the artifact NAME inside $KILN_ARTIFACTS, to write a file or folder to."""
    if (
        not isinstance(name, str)
        or name in ("", ".", "..")
        or "/" in name
        or os.sep in name
        or "\0" in name
    ):
        raise ValueError("artifact name %r must be a single file or folder name" % (name,))
    folder = _contract_path("KILN_ARTIFACTS")
    os.makedirs(folder, exist_ok=True)
    return os.path.join(folder, name)


def artifact(path, name=None):
    """Keeps the file or folder at PATH as an artifact, named NAME (default: its base name).

    The content is copied into $KILN_ARTIFACTS (symbolic links inside a folder are followed:
    Kiln stores no links) and read later as ${{ steps.ID.artifacts.NAME }}. Returns the copy's
    path. A PATH already inside $KILN_ARTIFACTS is kept where it is.
    """
    source = os.fspath(path)
    if not os.path.exists(source):
        raise FileNotFoundError("artifact %r: no such file or folder" % source)
    target = artifact_path(name if name is not None else os.path.basename(os.path.normpath(source)))
    if os.path.exists(target) and os.path.samefile(source, target):
        return target
    if os.path.lexists(target):
        if os.path.isdir(target) and not os.path.islink(target):
            shutil.rmtree(target)
        else:
            os.remove(target)
    if os.path.isdir(source):
        shutil.copytree(source, target, symlinks=False)
    else:
        shutil.copyfile(source, target)
    return target

"""Static conversion of Airflow DAG files to Prefect 3 flows (libcst only; never imports the DAG).

>>> from converters import convert_source
>>> result = convert_source(open("sample_dags/etl_xcom.py").read(), "etl_xcom.py")  # doctest: +SKIP
>>> print(result.output)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from converters.pipeline import ConversionResult

__all__ = ["ConversionResult", "convert_source", "convert_file"]


def __getattr__(name: str) -> Any:
    # the pipeline (and libcst) is imported on first use: ``converters.names`` alone is light and
    # is what the runtime shims import
    if name == "ConversionResult":
        from converters import pipeline

        return pipeline.ConversionResult
    raise AttributeError(f"module 'converters' has no attribute {name!r}")


def convert_source(source: str, path: str = "<string>") -> ConversionResult:
    """Convert the text of one DAG file into a Prefect flow module (see ``pipeline.convert_source``).

    Python's own parser reads the text first: a syntax error is IX001 with Python's line and
    column, and code too deeply nested never reaches libcst's native parser (which would crash
    the process). The conversion runs on a deep stack (a 3,000-long ``>>`` chain converts) and
    on the text with ``\\n`` line endings; the output gets the file's own endings back, so CRLF
    and mixed files keep every kept line, string literals included, byte for byte.
    """
    from converters.source_text import run_deep

    return run_deep(_convert_text, source, path)


def _convert_text(source: str, path: str) -> ConversionResult:
    from converters.model import Finding
    from converters.pipeline import ConversionResult, convert_source as convert_normalized
    from converters.source_text import normalize_newlines, python_refusal, restore_newlines

    text, endings = normalize_newlines(source)
    refusal = python_refusal(text, path)
    if refusal is not None:
        finding = Finding("IX001", refusal.line, refusal.message)
        return ConversionResult(path, source, source, "failed", error=True, findings=[finding])
    result = convert_normalized(text, path)
    if endings is not None:
        result.output = restore_newlines(result.output, text, source, endings)
        result.source = source
    return result


def convert_file(path: str) -> ConversionResult:
    """Read and convert one file (unreadable or binary files give a ``failed`` result)."""
    from converters.model import Finding
    from converters.pipeline import ConversionResult

    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        return ConversionResult(path, "", "", "failed", error=True, findings=[Finding("IX005", 0, f"cannot read: {exc.strerror}")])
    if b"\x00" in raw:
        return ConversionResult(path, "", "", "failed", error=True, findings=[Finding("IX004", 0, "binary file, not Python source")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return ConversionResult(path, "", "", "failed", error=True, findings=[Finding("IX004", 0, f"not UTF-8 text: {exc.reason}")])
    return convert_source(text, path)

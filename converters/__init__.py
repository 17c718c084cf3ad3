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
    if name in ("ConversionResult", "convert_source"):
        from converters import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module 'converters' has no attribute {name!r}")


def convert_file(path: str) -> ConversionResult:
    """Read and convert one file (unreadable or binary files give a ``failed`` result)."""
    from converters.model import Finding
    from converters.pipeline import ConversionResult, convert_source

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

"""Which Airflow ran a DAG, for ``interop run`` and ``compare``: version, mode and renames."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["airflow_info", "MODES"]

#: how a DAG was run: plainly by this process's Airflow, by it through the compat loader, or
#: by another interpreter's Airflow (the sidecar)
MODES = ("in-process", "compat", "sidecar")


def airflow_info(path: str | Path | None = None, result: Any = None) -> dict[str, Any]:
    """``{"version", "mode", "python", "renames": [{"file", "line", "kind", "old", "new", "note"}]}``.

    Args:
        path: the DAG file run in this process (its compat report, if any, is looked up).
        result: a run result; a sidecar result carries its own Airflow version and mode.
    """
    if result is not None and hasattr(result, "airflow_info"):
        return result.airflow_info()
    import sys

    import airflow

    # a file loaded through the compat loader left its report there; if the loader was never
    # imported, nothing in this process was loaded through it (and libcst stays unimported)
    loader = sys.modules.get("airflow_interop.compat.loader")
    load = loader.compat_report(path) if loader is not None and path is not None else None
    return {
        "version": airflow.__version__,
        "mode": "compat" if load is not None else "in-process",
        "python": sys.executable,
        "renames": [r.to_json() for r in load.renames] if load is not None else [],
    }

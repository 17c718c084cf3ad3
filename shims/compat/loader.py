"""Load a 1.10/2.x DAG file under Airflow 3 with the compat transform, as Airflow's importer would.

:func:`load_dags_compat` reads the file, applies :func:`airflow_interop.compat.transform.transform_source`
in memory, executes the result as a fresh module (the file's folder on ``sys.path``, the alias
finder installed, the DAG context's auto-registration on, like Airflow's Python importer) and
returns its DAGs, validated, with the list of renames applied. The user's file is only read.
"""

from __future__ import annotations

import hashlib
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from airflow_interop.compat.finder import install_finder
from airflow_interop.compat.transform import Rename, transform_source

__all__ = ["CompatLoad", "CompatLoadError", "load_dags_compat", "compat_report"]


class CompatLoadError(Exception):
    """The transformed DAG file still failed to import or validate under Airflow 3.

    The message is one line: the file, the line of the user's code that failed and the cause
    (:func:`airflow_interop.compat.errors.describe_import_failure`).

    Attributes:
        file: the DAG file.
        renames: what the loader had applied before the failure.
        details: the traceback and the renames applied, for whoever wants the whole story.
    """

    def __init__(self, message: str, file: str, renames: list[Rename], details: str = "") -> None:
        self.file = file
        self.renames = list(renames)
        self.details = details
        super().__init__(message)


@dataclass
class CompatLoad:
    """The outcome of :func:`load_dags_compat`.

    Attributes:
        path: the DAG file.
        dags: ``{dag_id: DAG}``.
        renames: every change applied, in line order.
        module: the module the transformed file was executed as.
    """

    path: Path
    dags: dict[str, Any]
    renames: list[Rename] = field(default_factory=list)
    module: ModuleType | None = None

    def to_json(self) -> dict[str, Any]:
        return {"file": str(self.path), "dag_ids": sorted(self.dags), "renames": [r.to_json() for r in self.renames]}


#: the latest compat load of each file (resolved path), for reports (``interop run``)
_REPORTS: dict[str, CompatLoad] = {}


def compat_report(path: str | Path) -> CompatLoad | None:
    """The latest :class:`CompatLoad` of a file in this process, or ``None`` if it was loaded plainly."""
    return _REPORTS.get(str(Path(path).resolve()))


def load_dags_compat(path: str | Path) -> CompatLoad:
    """All DAGs of a 1.10/2.x DAG file, loaded under Airflow 3 with the renames applied in memory.

    Raises:
        CompatError: a construct with no Airflow 3 equivalent (named, with its line).
        CompatLoadError: the transformed file failed to import or a DAG failed validation; the
            message names the file, carries the traceback and lists the renames applied.
        FileNotFoundError: no such file.
    """
    path = Path(path).resolve()
    source = path.read_text(encoding="utf-8")
    new_source, renames = transform_source(source, str(path))
    install_finder()

    from airflow.sdk import DAG
    from airflow.sdk.definitions._internal.contextmanager import DagContext

    digest = hashlib.sha1(str(path).encode()).hexdigest()[:12]
    mod_name = f"interop_compat_{digest}_{path.stem}"
    module = ModuleType(mod_name)
    module.__file__ = str(path)
    sys.modules[mod_name] = module
    DagContext.autoregistered_dags.clear()
    DagContext.current_autoregister_module_name = mod_name
    folder = str(path.parent)
    sys.path.insert(0, folder)
    applied = "\n".join(f"  {r}" for r in renames) or "  (none)"
    try:
        code = compile(new_source, str(path), "exec")
        exec(code, module.__dict__)  # noqa: S102 - running the user's DAG file is the point
        found: dict[int, Any] = {id(o): o for o in module.__dict__.values() if isinstance(o, DAG)}
        for dag, _mod in DagContext.autoregistered_dags:
            found.setdefault(id(dag), dag)
    except Exception as exc:  # noqa: BLE001 - reported with the file, the line and the cause
        from airflow_interop.compat.errors import describe_import_failure

        text = traceback.format_exc()
        raise CompatLoadError(
            describe_import_failure(text, path) + f" [failed to import with the compat loader, {len(renames)} rename(s) applied]",
            str(path),
            renames,
            details=f"{text}renames applied:\n{applied}",
        ) from exc
    finally:
        DagContext.current_autoregister_module_name = None
        DagContext.autoregistered_dags.clear()
        if sys.path and sys.path[0] == folder:
            sys.path.pop(0)
    dags: dict[str, Any] = {}
    for dag in found.values():
        dag.fileloc = str(path)
        try:
            dag.validate()
            dag.check_cycle()
            dag.resolve_template_files()
        except Exception as exc:  # noqa: BLE001
            raise CompatLoadError(
                f"DAG {dag.dag_id!r} in {str(path)!r} is not valid under Airflow 3: "
                f"{type(exc).__name__}: {' '.join(str(exc).split())} [compat loader, {len(renames)} rename(s) applied]",
                str(path),
                renames,
                details=f"renames applied:\n{applied}",
            ) from exc
        dags[dag.dag_id] = dag
    load = CompatLoad(path=path, dags=dags, renames=renames, module=module)
    _REPORTS[str(path)] = load
    return load

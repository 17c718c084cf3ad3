"""A meta-path finder that serves Airflow 1.10/2.x module paths removed from Airflow 3.

``import airflow.operators.bash_operator`` under Airflow 3 gets an alias module: the module's
current home (``converters.names.ALL_MOVED_MODULES``) with its renamed classes also under their
old names (``DummyOperator`` for ``EmptyOperator``). The finder sits at the end of
``sys.meta_path``, so it only answers for modules no other finder can find; the user's files
and Airflow itself are never changed. A module with no Airflow 3 equivalent
(``converters.names.UNBRIDGEABLE_MODULES``) fails to import with the reason.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
from types import ModuleType
from typing import Any, Sequence

__all__ = ["AirflowAliasFinder", "install_finder", "alias_names"]


def alias_names(old_module: str) -> dict[str, str]:
    """Old class name -> current class name for the classes of ``old_module`` that were renamed."""
    from converters import names

    prefix = old_module + "."
    return {
        qualified[len(prefix):]: new
        for qualified, new in names.ALL_RENAMED_NAMES.items()
        if qualified.startswith(prefix) and "." not in qualified[len(prefix):]
    }


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, old: str, new: str | None, reason: str | None) -> None:
        self.old, self.new, self.reason = old, new, reason

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return None  # default module creation

    def exec_module(self, module: ModuleType) -> None:
        if self.new is None:
            raise ImportError(f"{self.old}: {self.reason}", name=self.old)
        try:
            target = importlib.import_module(self.new)
        except ImportError as exc:
            raise ImportError(
                f"{self.old} moved to {self.new} in Airflow 3, which is not installed here "
                f"({type(exc).__name__}: {exc}); install the provider that holds it",
                name=self.old,
            ) from exc
        for key, value in vars(target).items():
            if not key.startswith("__"):
                module.__dict__[key] = value
        for old_name, new_name in alias_names(self.old).items():
            if hasattr(target, new_name):
                module.__dict__[old_name] = getattr(target, new_name)
        module.__dict__["__interop_alias_of__"] = self.new
        module.__dict__.setdefault("__path__", [])  # a package, so removed submodules resolve too


class AirflowAliasFinder(importlib.abc.MetaPathFinder):
    """Finds removed Airflow module paths and loads their Airflow 3 homes under the old name."""

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if not fullname.startswith("airflow."):
            return None
        from converters import names

        if fullname in names.UNBRIDGEABLE_MODULES:
            return importlib.machinery.ModuleSpec(
                fullname, _AliasLoader(fullname, None, names.UNBRIDGEABLE_MODULES[fullname])
            )
        new = names.ALL_MOVED_MODULES.get(fullname)
        if new is None or new == fullname:
            if fullname in _removed_packages():  # ``airflow.contrib``, ``airflow.contrib.operators`` ...
                spec = importlib.machinery.ModuleSpec(fullname, _PackageLoader(), is_package=True)
                spec.submodule_search_locations = []
                return spec
            return None
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(fullname, new, None))


class _PackageLoader(importlib.abc.Loader):
    """An empty package standing for a removed parent of moved modules, so its children resolve."""

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return None

    def exec_module(self, module: ModuleType) -> None:
        module.__dict__["__interop_alias_of__"] = None


def _removed_packages() -> frozenset[str]:
    """Parent packages of the moved module paths (``airflow.contrib.operators`` ...)."""
    from converters import names

    parents = set()
    for old in (*names.ALL_MOVED_MODULES, *names.UNBRIDGEABLE_MODULES):
        parts = old.split(".")
        parents.update(".".join(parts[:i]) for i in range(2, len(parts)))
    # a provider's packages are never stood in for: a missing provider must fail as missing
    return frozenset(p for p in parents if not p.startswith("airflow.providers"))


_FINDER: AirflowAliasFinder | None = None


def install_finder() -> AirflowAliasFinder:
    """Put the alias finder at the end of ``sys.meta_path`` (once per process).

    Also puts back the removed names that have a same-meaning replacement
    (``converters.names.REMOVED_NAMES``) on their old modules, when those modules still exist
    without them (``airflow.utils.decorators.apply_defaults``): helper modules the DAG imports
    get the alias finder but not the source transform, and 1.10 helpers use these names.
    """
    global _FINDER
    if _FINDER is None:
        _FINDER = AirflowAliasFinder()
        _restore_removed_names()
    if _FINDER not in sys.meta_path:
        sys.meta_path.append(_FINDER)
    return _FINDER


def _restore_removed_names() -> None:
    import warnings

    from converters import names

    for old, (replacement, _note) in names.REMOVED_NAMES.items():
        module_name, _, name = old.rpartition(".")
        new_module, _, new_name = replacement.rpartition(".")
        try:
            with warnings.catch_warnings():  # deprecated modules warn on import
                warnings.simplefilter("ignore")
                module = importlib.import_module(module_name)
        except ImportError:
            continue
        if not hasattr(module, name):
            setattr(module, name, getattr(importlib.import_module(new_module), new_name))

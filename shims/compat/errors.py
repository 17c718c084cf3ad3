"""One-line messages for a DAG file that fails to import: what is missing, where, what to do.

A DAG file from a 1.10/2.x project usually fails to import under Airflow 3 for a reason the user
can act on: a provider package that is not installed, a third-party or helper module, an Airflow
Variable read at parse time. :func:`describe_import_failure` reads the traceback (Airflow's
``DagBag`` import error text, or a formatted exception) and names the file, the line of the
user's file where it failed, that line's code and the cause, in one line::

    dags/etl.py:5: `from airflow.providers.postgres.hooks.postgres import PostgresHook`: needs the
    provider package apache-airflow-providers-postgres (No module named 'airflow.providers.postgres');
    install it, or run the DAG in the team's own Airflow with --airflow-python PATH

The full traceback stays available to the caller (``CompatLoadError.details``).
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["describe_import_failure", "provider_package"]

#: provider namespaces two levels deep (``airflow.providers.apache.beam`` -> ``apache-beam``)
_TWO_LEVEL_PROVIDERS = frozenset({"apache", "cncf", "common", "microsoft", "dbt", "atlassian"})
#: provider namespaces whose package name is not the module path (``amazon.aws`` -> ``amazon``)
_ONE_LEVEL_PROVIDERS = frozenset({"amazon", "alibaba", "google"})

_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+)', re.M)
_EXCEPTION_LINE = re.compile(r"^(?P<type>[A-Za-z_][\w.]*(?:Error|Exception|Warning|Exit|Interrupt))(?::\s?(?P<message>.*))?$")
_NO_MODULE = re.compile(r"No module named '(?P<module>[^']+)'")
_CANNOT_IMPORT = re.compile(r"cannot import name '(?P<name>[^']+)' from '(?P<module>[^']+)'")
_MOVED = re.compile(r"^(?P<old>[\w.]+) moved to (?P<new>[\w.]+) in Airflow 3")
_VARIABLE = re.compile(r"VARIABLE_NOT_FOUND.*Variable (?P<key>\S+) not found")
_CONNECTION = re.compile(r"(?:CONNECTION_NOT_FOUND.*?[Cc]onnection |The conn_id )`?'?(?P<key>[^`'\s]+)`?'? isn't defined|CONNECTION_NOT_FOUND.*?(?P<key2>\S+) not found")

#: (pattern, what, missing state, environment prefix, value form) of secrets read at parse time
_PARSE_TIME_SECRETS = [
    (_VARIABLE, "Variable", "set", "AIRFLOW_VAR_", ""),
    (_CONNECTION, "connection", "defined", "AIRFLOW_CONN_", " (a URI or JSON)"),
]

_ELSEWHERE = "or run the DAG in the team's own Airflow with --airflow-python PATH"


def provider_package(module: str) -> str | None:
    """The pip package of an Airflow provider module, or ``None`` if ``module`` is not one.

    >>> provider_package("airflow.providers.google.cloud.hooks.gcs")
    'apache-airflow-providers-google'
    >>> provider_package("airflow.providers.cncf.kubernetes.operators.pod")
    'apache-airflow-providers-cncf-kubernetes'
    >>> provider_package("airflow.providers.amazon.aws.hooks.s3")
    'apache-airflow-providers-amazon'
    """
    parts = module.split(".")
    if len(parts) < 3 or parts[:2] != ["airflow", "providers"]:
        return None
    if parts[2] in _TWO_LEVEL_PROVIDERS and parts[2] not in _ONE_LEVEL_PROVIDERS and len(parts) > 3:
        return f"apache-airflow-providers-{parts[2]}-{parts[3]}"
    return f"apache-airflow-providers-{parts[2]}"


def _user_frame(text: str, path: Path) -> int | None:
    """The line of the last traceback frame in the user's file, if any."""
    target = str(path.resolve())
    line = None
    for match in _FRAME.finditer(text):
        try:
            same = str(Path(match.group("file")).resolve()) == target
        except OSError:
            same = False
        if same:
            line = int(match.group("line"))
    return line


def _final_exception(text: str) -> tuple[str, str]:
    """``(type name, message)`` of the last exception of a traceback text, the message on one line."""
    lines = text.rstrip().splitlines()
    for i in range(len(lines) - 1, -1, -1):
        match = _EXCEPTION_LINE.match(lines[i])
        if match:
            message = " ".join(part.strip() for part in [match.group("message") or "", *lines[i + 1:]] if part.strip())
            return match.group("type").rpartition(".")[2], message
    return "Error", " ".join(line.strip() for line in lines[-1:])


def _airflow3_home(module: str) -> str | None:
    """The Airflow 3 home of a moved 1.10/2.x module path that lives in a provider."""
    from converters import names

    new = names.ALL_MOVED_MODULES.get(module)
    return new if new and new != module and provider_package(new) else None


def _missing_module(module: str, home: str | None = None) -> str:
    """What to do about a module that is not found (``home``: the full path it was wanted for)."""
    package = provider_package(home or module)
    if package is not None:
        return f"needs the provider package {package} (No module named {module!r}); install it, {_ELSEWHERE}"
    if module == "airflow.contrib" or module.startswith("airflow.contrib."):
        return (
            f"{module} was removed in Airflow 3 (airflow.contrib moved to provider packages) and the compat "
            f"loader has no Airflow 3 home for it; import it from its provider, {_ELSEWHERE}"
        )
    moved = _airflow3_home(module)
    if moved is not None:
        return f"{module} moved to {moved} in Airflow 3, which " + _missing_module(moved, moved)
    if module.startswith("airflow."):
        return f"{module} does not exist in Airflow 3 and the compat loader has no Airflow 3 home for it; {_ELSEWHERE[3:]}"
    top = module.split(".")[0]
    return (
        f"needs the module {module!r}, which is not installed in this environment nor next to the DAG file "
        f"(No module named {module!r}); install {top!r} or put the DAG's helper modules beside it, {_ELSEWHERE}"
    )


def _cause(kind: str, message: str, code: str = "") -> str:
    """The cause, from the exception; ``code`` (the failing line) completes a cut-off module path."""
    moved = _MOVED.match(message)
    missing = _NO_MODULE.search(message)
    if moved and missing:
        return f"{moved.group('old')} moved to {moved.group('new')} in Airflow 3, which " + _missing_module(missing.group("module"), moved.group("new"))
    if kind in {"ModuleNotFoundError", "ImportError"} and missing and not _CANNOT_IMPORT.search(message):
        module = missing.group("module")
        full = re.search(re.escape(module) + r"[\w.]*", code)  # ``airflow.providers.cncf`` -> ``...cncf.kubernetes...``
        return _missing_module(module, full.group(0) if full else None)
    cannot = _CANNOT_IMPORT.search(message)
    if cannot:
        module, name = cannot.group("module"), cannot.group("name")
        where = f"Airflow 3's {module}" if module.split(".")[0] == "airflow" else repr(module)
        hint = " (a 1.10 plugin or a removed name; the compat loader has no Airflow 3 home for it)" if module.startswith("airflow") else ""
        return f"cannot import {name!r} from {where}{hint}; {_ELSEWHERE[3:]}"
    for pattern, what, state, env, form in _PARSE_TIME_SECRETS:
        found = pattern.search(message)
        if found:
            key = (found.group("key") or found.groupdict().get("key2") or "").strip("'\"`")
            return (
                f"reads the Airflow {what} {key!r} while the file is parsed, and it is not {state}; give it for the "
                f"run with the environment variable {env}{key.upper()}{form}"
            )
    return f"{kind}: {message[:400]}" if message else kind


def describe_import_failure(text: str, path: str | Path) -> str:
    """One line naming the file, the failing line of the user's code and the cause.

    Args:
        text: a traceback as text (``DagBag.import_errors`` value or ``traceback.format_exc()``).
        path: the DAG file.

    Returns:
        ``FILE:LINE: `code`: cause`` (``FILE: cause`` when no frame of the file is in the text).

    >>> tb = 'Traceback (most recent call last):\\n  File "/d/x.py", line 3, in <module>\\nModuleNotFoundError: No module named \\'pandas\\''
    >>> print(describe_import_failure(tb, "/d/x.py").split(": needs")[0])
    /d/x.py:3
    """
    path = Path(path)
    kind, message = _final_exception(text)
    line = _user_frame(text, path)
    where = str(path)
    code = ""
    if line is not None:
        where = f"{path}:{line}"
        try:
            code = path.read_text(encoding="utf-8", errors="replace").splitlines()[line - 1].strip()
        except (OSError, IndexError):
            code = ""
        if code:
            where += f": `{code[:120]}`"
    return f"{where}: {_cause(kind, message, code)}"


def no_dag_hint(source: str) -> str:
    """Why a file that loaded defines no DAG, read from its code (for the "no DAG" message).

    >>> print(no_dag_hint("from airflow import DAG\\ndef make(name):\\n    return DAG(name)\\n")[:55])
    DAG(...) is only created inside make() (a DAG factory);
    """
    import ast

    try:
        tree = ast.parse(source)
    except SyntaxError:
        return ""

    def creates_dag(node: ast.AST) -> bool:
        for sub in ast.walk(node):
            func = sub.func if isinstance(sub, ast.Call) else None
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if name in {"DAG", "dag"}:
                return True
        return False

    top_calls = {
        sub.func.id
        for stmt in tree.body
        if not isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        for sub in ast.walk(stmt)
        if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name)
    }
    factories = [
        f"{stmt.name}()"
        for stmt in tree.body
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and stmt.name not in top_calls and creates_dag(stmt)
    ]
    if factories:
        return (
            f"DAG(...) is only created inside {', '.join(factories)} (a DAG factory); nothing calls it when the file is "
            f"imported, so Airflow would find no DAG either: call it at the top level (dag = {factories[0][:-2]}(...))"
        )
    if not creates_dag(tree):
        return "the file creates no DAG at all: a helper module (operators, hooks, callbacks) of a DAG folder?"
    return "DAG(...) is called, but no DAG object is left at the top level of the module (a DAG must be a module global or created in a `with DAG(...)` block)"

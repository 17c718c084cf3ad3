"""The census: what in a DAG file could build tasks, edges or DAGs, read from the syntax alone.

The static evaluator (:mod:`converters.analysis`) lists the tasks and edges it can follow. Where
it meets code it cannot follow (a loop over a run-time value, a task id computed at run time, a
call to a helper defined elsewhere), it asks the census whether that code could build tasks or
wire them. If it could, the DAG has a *gap*: Airflow would build something the ledger cannot
name, so the DAG is refused (never listed short).

Examples (``builds_tasks``):
    ``BashOperator(task_id="t", ...)``         True  (a call with ``task_id=``)
    ``extract()`` for a ``@task`` function      True
    ``a >> b``, ``chain(a, b)``, ``a.set_upstream(b)``  True (wiring)
    ``make_tasks(dag)`` for a local helper that builds operators  True
    ``TaskGroup("g")``                           True
    ``print(x)``, ``rows = load()`` (no task, no wiring)  False
"""

from __future__ import annotations

import builtins
import sys
from typing import TYPE_CHECKING

import libcst as cst

from converters import names
from converters.walk import bound_names, children, dotted, find, iter_nodes
from converters.rules import AIRFLOW_HEADER, Rule, converts, marks, refuses, unchanged  # noqa: F401

if TYPE_CHECKING:
    from converters.analysis import Analyzer

_WIRING_METHODS = frozenset({"set_upstream", "set_downstream", "expand", "expand_kwargs", "partial"})


def builds_tasks(node: cst.CSTNode, analyzer: Analyzer, _seen: set[str] | None = None) -> bool:
    """Could evaluating ``node`` (a statement or expression) build a task or an edge?"""
    seen = set() if _seen is None else _seen
    stack: list[cst.CSTNode] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.BinaryOperation) and isinstance(current.operator, (cst.RightShift, cst.LeftShift)):
            return True
        if isinstance(current, cst.Call) and _call_builds(current, analyzer, seen):
            return True
        stack.extend(children(current))
    return False


def _call_builds(node: cst.Call, analyzer: Analyzer, seen: set[str]) -> bool:
    if any(a.keyword is not None and a.keyword.value == "task_id" for a in node.args):
        return True
    func = node.func
    if isinstance(func, cst.Attribute) and func.attr.value in _WIRING_METHODS:
        return True
    qn = analyzer.qualname(func) or ""
    if qn in names.CHAIN_FUNCTIONS or qn in names.CROSS_DOWNSTREAM_FUNCTIONS or qn in names.TASK_GROUP_CLASSES:
        return True
    name = dotted(func)
    if name is None and isinstance(func, cst.Call):  # my_task.override(...)(...)
        name = dotted(func.func)
        if name and name.endswith(".override"):
            name = name[: -len(".override")]
    if name in analyzer.model.taskflow_functions:
        return True
    if name in analyzer.model.functions and name not in seen:
        seen.add(name)
        fdef = analyzer.model.functions[name]
        if analyzer.is_task_group_function(fdef):
            return True
        return builds_tasks(fdef.body, analyzer, seen)
    return False


def dag_constructions(module: cst.Module, analyzer: Analyzer) -> list[tuple[cst.CSTNode, cst.CSTNode]]:
    """Every ``DAG(...)`` call and ``@dag`` function anywhere in the module, each with the
    statement it is in (for its line); the caller compares them with the DAGs it placed."""
    found: list[tuple[cst.CSTNode, cst.CSTNode]] = []
    stack: list[tuple[cst.CSTNode, cst.CSTNode]] = [(s, s) for s in module.body]
    is_statement = _IS_STATEMENT.get
    while stack:
        current, stmt = stack.pop()
        kind = type(current)  # exact types: isinstance on libcst's ABCs is slow, this walk is hot
        if kind is cst.Call and analyzer.qualname(current.func) in names.DAG_CLASSES:
            found.append((current, stmt))
        elif kind is cst.FunctionDef and analyzer.dag_decorator(current) is not None:
            found.append((current, current))
        for child in children(current):
            is_stmt = is_statement(type(child))
            if is_stmt is None:
                is_stmt = _IS_STATEMENT[type(child)] = issubclass(type(child), (cst.SimpleStatementLine, cst.BaseCompoundStatement))
            stack.append((child, child if is_stmt else stmt))
    return found


def dag_nodes(module: cst.Module, analyzer: Analyzer) -> list[cst.CSTNode]:
    """The nodes :func:`dag_constructions` finds, without their statements: read from the cached
    walks of the module's statements (:func:`converters.walk.find`), so the usual check (every
    one of them placed) walks nothing the rules have not walked already."""
    return [
        node
        for top in module.body
        for node in find(top, (cst.Call, cst.FunctionDef))
        if (type(node) is cst.Call and analyzer.qualname(node.func) in names.DAG_CLASSES)
        or (type(node) is cst.FunctionDef and analyzer.dag_decorator(node) is not None)
    ]


#: node type -> is it a statement (see :func:`dag_constructions`)
_IS_STATEMENT: dict[type, bool] = {}


#: Libraries whose calls never build Airflow tasks (data access, formats, clients). A call to a
#: name imported from any other non-standard module inside a DAG body may build tasks (the team's
#: own helpers, task-group builders such as astronomer-cosmos'), so it is a gap unless the
#: evaluator saw it build nothing that matters.
PLAIN_LIBRARIES = frozenset(
    {
        "pandas", "numpy", "requests", "yaml", "pendulum", "dateutil", "pytz", "boto3", "botocore",
        "sqlalchemy", "psycopg2", "pymysql", "jinja2", "pydantic", "dotenv", "httpx", "urllib3", "bs4",
        "pyarrow", "redis", "pymongo", "paramiko", "openai", "google", "azure", "snowflake", "slack_sdk",
        "kubernetes", "docker", "minio", "clickhouse_driver", "elasticsearch", "tweepy", "gspread",
        "simplejson", "ujson", "orjson", "tenacity", "croniter", "jsonschema", "attr", "attrs", "six",
        "scipy", "sklearn", "polars", "duckdb", "s3fs", "gcsfs", "smart_open", "pyodbc",
        "cx_Oracle", "oracledb", "mysql", "pymssql", "hvac", "sentry_sdk", "structlog", "loguru",
    }
)


def hidden_builder(stmt: cst.CSTNode, analyzer: Analyzer) -> str | None:
    """The callee in ``stmt`` that may build tasks the evaluator did not see, or None.

    Examples:
        ``make_tasks(dag)`` (a local helper with operators inside)   -> ``make_tasks``
        ``ids = fetch_connections_tg(conns)`` (imported from ``tasks.airbyte``) -> ``fetch_connections_tg``
        ``DbtTaskGroup(group_id="dbt", ...)`` (imported from ``cosmos``)         -> ``DbtTaskGroup``
        ``rows = pd.read_csv(path)``, ``v = Variable.get("x")``, ``print(x)`` -> None
    """
    stack: list[cst.CSTNode] = [stmt]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Call):
            if _call_builds(current, analyzer, set()):
                return dotted(current.func) or "call"
            name = dotted(current.func if not isinstance(current.func, cst.Call) else current.func.func)
            if name:
                head = name.split(".")[0]
                qn = analyzer.model.imports.get(head)
                if qn is not None:
                    if _team_module(qn):
                        return name
                elif head in _team_names(analyzer):
                    return name
        stack.extend(children(current))
    return None


def _team_module(qualname: str) -> bool:
    root = qualname.split(".")[0]
    return root != "airflow" and root not in sys.stdlib_module_names and root not in PLAIN_LIBRARIES


def _team_names(analyzer: Analyzer) -> frozenset[str]:
    """Names the import table cannot place that may come from the team's modules: those of a
    relative import (``from .operators import Load``), and, where the file star-imports a team
    module (``from rockflow.operators import *``), every name the file reads but never binds.

    Example: ``from ops import *`` then ``MicDownloadOperator(key="x")`` in the DAG body: the star
    import may bind it to an operator class (Airflow attaches the task), so the call may build one.
    """
    if analyzer.team_names is not None:
        return analyzer.team_names
    relative: set[str] = set()
    star = False
    for stmt in analyzer.model.module.body:
        for small in stmt.body if isinstance(stmt, cst.SimpleStatementLine) else ():
            if not isinstance(small, cst.ImportFrom):
                continue
            if isinstance(small.names, cst.ImportStar):
                star = star or bool(small.relative) or _team_module(dotted(small.module) or "")
            elif small.relative:
                relative |= {a.asname.name.value if a.asname else dotted(a.name) or "" for a in small.names}  # type: ignore[union-attr]
    out = set(relative)
    if star:
        bound = {n for stmt in analyzer.model.module.body for n in bound_names(stmt)}
        read = {n.value for n in iter_nodes(analyzer.model.module) if type(n) is cst.Name}
        out |= {n for n in read - bound if not hasattr(builtins, n)}
    analyzer.team_names = frozenset(out)
    return analyzer.team_names


class GapRefusal(Rule):
    """A DAG whose tasks or edges cannot all be listed statically is refused, never listed short.

    Where the evaluator meets code it cannot follow that could build tasks or wiring (the census
    above decides), the place is a manual finding and the DAG a gap; a gap refuses the file (IX109,
    status ``failed``, nothing written). Code that builds nothing (``rows = pd.read_csv(p)``) is
    kept as it is.
    """

    CONSTRUCT = "loops over run-time values that make tasks, helpers it cannot follow, wiring to unknown values"
    RESULT = "file refused with IX109 and each place as IX101/IX105/IX106/IX107"
    CODES = ("IX109", "IX101", "IX106", "IX107")
    EXAMPLES = [
        refuses(AIRFLOW_HEADER + """
            import json
            TABLES = json.loads('["a", "b"]')
            with DAG("runtime_loop", schedule=None):
                for table in TABLES:
                    BashOperator(task_id=f"load_{table}", bash_command="echo")
            """, "IX109", title="a loop over a run-time value makes tasks"),
        refuses(AIRFLOW_HEADER + """
            from team.tasks import build_loads
            with DAG("imported_helper", schedule=None):
                start = EmptyOperator(task_id="start")
                loads = build_loads(3)
            """, "IX109", title="a helper from the team's modules may build tasks"),
        refuses(AIRFLOW_HEADER + """
            from team.operators import *
            with DAG("star_operator", schedule=None):
                download = DownloadOperator(key="market")
                load = LoadOperator(source=download.output_key)
                download >> load
            """, "IX109", title="a class a team module's star import may bind builds a task Airflow attaches"),
        refuses(AIRFLOW_HEADER + """
            from jobs import *
            with DAG("star", schedule=None):
                a = BashOperator(task_id="a", bash_command="echo a")
                a >> LOAD_JOB
            """, "IX107", title="wiring to a name not known statically"),
        converts(AIRFLOW_HEADER + """
            import pandas as pd
            with DAG("plain_call", schedule=None):
                columns = pd.Index(["a"])
                a = BashOperator(task_id="a", bash_command="echo a")
            """, "def a():", title="a call that builds nothing is not a gap"),
    ]

"""Value comparison: every XCom of the DAG run against the flow's task results.

Values are compared by deep equality after both sides are put in the shape an XCom round trip
gives (tuples as lists, dates as ISO text); floats are equal within a tolerance; values JSON
cannot hold are compared by type name and ``repr``.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from typing import Any

from interop.compare.model import ValueDiff

__all__ = ["IGNORED_XCOM_KEYS", "is_internal_xcom", "normalise", "same", "compare_task_values"]

#: XCom keys Airflow pushes for its own bookkeeping; they have no flow equivalent.
IGNORED_XCOM_KEYS = frozenset(
    {
        "skipmixin_key",  # branch / short-circuit operators: which downstream tasks to skip
        "_XCOM_SKIPMIXIN_KEY",
        "return_value_mapped_length",
        # Airflow 2's lineage: the task's inlets/outlets (Airflow 3 and Prefect have no lineage XComs)
        "pipeline_inlets",
        "pipeline_outlets",
    }
)
#: prefixes of internal keys: operator extra links (``_link_<Class>``) and deferral bookkeeping
IGNORED_XCOM_PREFIXES = ("_link_", "__")

REL_TOL = 1e-9
ABS_TOL = 1e-9

_MAPPED_KEY = re.compile(r"^(?P<key>.*)\[(?P<index>\d+)\]$")
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def is_internal_xcom(key: str) -> bool:
    """Is ``key`` an Airflow-internal XCom (not compared)?"""
    base = _MAPPED_KEY.match(key)
    key = base.group("key") if base else key
    return key in IGNORED_XCOM_KEYS or key.startswith(IGNORED_XCOM_PREFIXES)


def normalise(value: Any) -> Any:
    """The value as JSON can hold it; anything else as ``{"type", "repr"}``."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value
    if isinstance(value, dict):
        return {str(k): normalise(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [normalise(v) for v in value]
    if isinstance(value, (set, frozenset)):
        items = [normalise(v) for v in value]
        try:
            return sorted(items)
        except TypeError:
            return sorted(items, key=repr)
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, _dt.timedelta):
        return value.total_seconds()
    # memory addresses differ between any two processes: not part of the value
    return {"type": f"{type(value).__module__}.{type(value).__qualname__}", "repr": _ADDRESS.sub(" at 0x…", repr(value))}


def same(a: Any, b: Any) -> bool:
    """Deep equality of two normalised values; floats (and int/float pairs) within tolerance."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
            return True
        return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


#: seconds a clock reading may fall outside its run's window (``date`` prints whole seconds)
CLOCK_SLACK = 2.0
_ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?")
_DATE_TIME = re.compile(r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) [A-Z][a-z]{2} +\d{1,2} \d{2}:\d{2}:\d{2} (?:[A-Z]{2,5} )?\d{4}")
#: a bare time of day (``HH:MM:SS[.fff]``, e.g. ``datetime.now().strftime("%H:%M:%S")``), read on
#: the dates of the run's window; matched after the date-times above were replaced
_TIME_OF_DAY = re.compile(r"(?<!\d[T ])(?<![\d:.])\d{2}:\d{2}:\d{2}(?:[.,]\d{1,6})?(?![\d:])")
RUN_TIME = "<the time of the run>"


def _time_of_day_during(text: str, start: float, end: float) -> bool:
    """Is the time of day ``text`` (UTC or local) a reading taken between ``start`` and ``end``?"""
    try:
        clock = _dt.time.fromisoformat(text.replace(",", "."))
    except ValueError:
        return False
    days = set()
    for t in (start, end):
        for zone in (_dt.timezone.utc, None):
            when = _dt.datetime.fromtimestamp(t, zone) if zone else _dt.datetime.fromtimestamp(t).astimezone()
            days.add((when.date(), when.tzinfo))
    return any(start <= _dt.datetime.combine(day, clock, tz).timestamp() <= end for day, tz in days)


def _clock_reading(text: str) -> list[float]:
    """Epoch seconds ``text`` may stand for (a naive time read as UTC and as local time)."""
    if _DATE_TIME.fullmatch(text):
        parts = text.split()
        zone = parts[4] if len(parts) == 6 else ""
        plain = " ".join(parts[:4] + parts[-1:])
        try:
            when = _dt.datetime.strptime(plain, "%a %b %d %H:%M:%S %Y")
        except ValueError:
            return []
    else:
        try:
            when = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return []
        zone = ""
    if when.tzinfo is not None:
        return [when.timestamp()]
    readings = [when.replace(tzinfo=_dt.timezone.utc).timestamp()]
    if zone not in ("UTC", "GMT"):
        readings.append(when.astimezone().timestamp())
    return readings


def at_run_time(value: Any, window: tuple[float, float]) -> Any:
    """``value`` with every clock reading taken during ``window`` replaced by :data:`RUN_TIME`."""
    start, end = window[0] - CLOCK_SLACK, window[1] + CLOCK_SLACK

    def during(text: str) -> bool:
        return any(start <= t <= end for t in _clock_reading(text))

    if isinstance(value, str):
        out = _ISO_TIME.sub(lambda m: RUN_TIME if during(m.group(0)) else m.group(0), value)
        out = _DATE_TIME.sub(lambda m: RUN_TIME if during(m.group(0)) else m.group(0), out)
        return _TIME_OF_DAY.sub(lambda m: RUN_TIME if _time_of_day_during(m.group(0), start, end) else m.group(0), out)
    if isinstance(value, float) and start <= value <= end:
        return RUN_TIME
    if isinstance(value, dict):
        return {k: at_run_time(v, window) for k, v in value.items()}
    if isinstance(value, list):
        return [at_run_time(v, window) for v in value]
    return value


def _choice(skipmixin: Any) -> dict[str, Any]:
    """A ``skipmixin_key`` value with its task id lists sorted (Airflow stores them in set order)."""
    if not isinstance(skipmixin, dict):
        return {"value": skipmixin}
    return {k: sorted(v) if isinstance(v, list) else v for k, v in skipmixin.items()}


def _split(key: str) -> tuple[str, int | None]:
    m = _MAPPED_KEY.match(key)
    return (m.group("key"), int(m.group("index"))) if m else (key, None)


def compare_task_values(
    task_id: str, returns: str | None, airflow_xcoms: dict[str, Any], flow_values: dict[str, Any], flow_ran: bool,
    return_kept: bool = True,
    windows: tuple[tuple[float, float], tuple[float, float]] | None = None,
    mapped: bool = False,
) -> tuple[list[ValueDiff], int, list[str]]:
    """Compare one task's XComs with what its converted task returned.

    Args:
        task_id: the task.
        returns: the ledger's ``returns`` (``"value"``: the result is the return value;
            ``"xcoms"``: the result is ``{key: value}`` of every pushed XCom).
        airflow_xcoms: ``{key: value}`` from the DAG run (mapped tasks: ``"key[i]"``).
        flow_values: ``{"return_value": result}`` from the flow run (empty when no result).
        flow_ran: whether the flow ran this task and produced a result.
        return_kept: False for a task with ``do_xcom_push=False``: Airflow keeps no XCom of its
            return value, so the flow's is not compared (listed with the ignored keys).
        windows: the wall-clock times (epoch seconds, start and end) the DAG run and the flow
            run took place in. Two values that differ only by a time within their own run's
            window (``date``'s output, a run id made of the time of the trigger) are the
            same value: the time each side ran at (listed with the ignored keys, with both values).
        mapped: the ledger says the task is mapped: the flow's result is a list, one per map
            index, even when Airflow pushed no XCom at all (every index returned ``None``).

    Returns:
        ``(differences, number of values compared, internal keys ignored)``.
    """
    ignored = sorted(k for k in airflow_xcoms if is_internal_xcom(k))
    xcoms = {k: normalise(v) for k, v in airflow_xcoms.items() if not is_internal_xcom(k)}
    diffs: list[ValueDiff] = []
    result = normalise(flow_values.get("return_value")) if "return_value" in flow_values else None
    has_result = flow_ran and "return_value" in flow_values

    shim_choice = returns == "xcoms" and isinstance(result, dict) and "skipmixin_key" in result
    if shim_choice and "skipmixin_key" in airflow_xcoms:
        # a branch operator run through the operator shim returns its XComs, its choice included
        ours, theirs = _choice(result["skipmixin_key"]), _choice(normalise(airflow_xcoms["skipmixin_key"]))
        if ours != theirs:
            diffs.append(ValueDiff(task_id=task_id, key="skipmixin_key", airflow=theirs, prefect=ours,
                                   reason=f"branch: the flow chose {ours!r}, Airflow {theirs!r}"))
        followed = theirs.get("followed")
        ret = xcoms.get("return_value")
        if "return_value" not in result and isinstance(followed, list) and (
            sorted([ret] if isinstance(ret, str) else ret if isinstance(ret, list) else [None]) == followed
        ):
            # Airflow 2's branch operators also push their choice as return_value; Airflow 3's
            # (which the shim runs) do not: the choice is compared once, above
            xcoms.pop("return_value")
            ignored.append("return_value (the branch's choice again, as Airflow 2 pushes it)")
    elif "skipmixin_key" in airflow_xcoms and not xcoms and has_result:
        # A branch task under Airflow 3: no return value, only its decision under the internal
        # key ({"followed": [task ids]}). The converted branch returns that decision (a task id
        # or a list of them), which the flow's if/else follows: compare it with what Airflow followed.
        decision = result.get("return_value") if returns == "xcoms" and isinstance(result, dict) else result
        skipmixin = airflow_xcoms["skipmixin_key"] if isinstance(airflow_xcoms["skipmixin_key"], dict) else {}
        if "followed" not in skipmixin and "skipped" in skipmixin:
            # a short-circuit whose condition was falsy: Airflow skipped what is below it and kept
            # no return value; the converted task returns the condition, which must be falsy too
            if decision:
                return [ValueDiff(task_id=task_id, key="skipmixin_key", airflow=normalise(skipmixin), prefect=decision,
                                  reason=f"short-circuit: Airflow skipped the tasks below, the flow's condition is {decision!r}")], 1, ignored
            return [], 1, ignored
        followed = skipmixin.get("followed")
        chosen = [decision] if isinstance(decision, str) else list(decision or []) if isinstance(decision, list) else None
        if chosen is None or sorted(chosen) != sorted(followed or []):
            return [ValueDiff(task_id=task_id, key="skipmixin_key", airflow=normalise(followed), prefect=decision,
                              reason=f"branch: the flow chose {decision!r}, Airflow followed {followed!r}")], 1, ignored
        return [], 1, ignored

    if returns == "xcoms":
        # the converted task returns {key: value} of everything it pushed (None: nothing, a skip)
        actual = result if isinstance(result, dict) else {} if result is None else None
        if has_result and actual is None:
            diffs.append(ValueDiff(task_id=task_id, key="*", airflow=xcoms, prefect=result,
                                   reason=f"flow returned {type(result).__name__}, expected a dict of XComs"))
            return diffs, len(xcoms), ignored
        actual = dict(actual or {})
        if actual.get("return_value", 0) is None and "return_value" not in xcoms:
            actual.pop("return_value")  # Airflow stores no XCom for a None return
        actual = {k: v for k, v in actual.items() if not is_internal_xcom(k)}
    else:
        # the converted task's result is its return value; mapped: a list, one per map index
        actual = {}
        if has_result:
            if (mapped or any(_split(k)[1] is not None for k in xcoms)) and isinstance(result, list):
                for i, item in enumerate(result):
                    if item is not None:
                        actual[f"return_value[{i}]"] = item
            elif result is not None:
                actual["return_value"] = result
        # multiple_outputs: Airflow also pushed each key of a returned dict
        # (a mapped task: each map index's keys against that index's returned dict)
        for k in list(xcoms):
            base, index = _split(k)
            ret = xcoms.get("return_value" if index is None else f"return_value[{index}]")
            if base != "return_value" and isinstance(ret, dict) and base in ret and same(ret[base], xcoms[k]):
                xcoms.pop(k)

    if not return_kept and "return_value" not in xcoms:
        for key in [k for k in actual if _split(k)[0] == "return_value"]:
            actual.pop(key)
            ignored.append(f"{key} (do_xcom_push=False: Airflow keeps no return value)")
    compared = 1 if shim_choice and "skipmixin_key" in airflow_xcoms else 0
    for key in sorted(set(xcoms) | set(actual)):
        base, index = _split(key)
        if key in xcoms and key in actual:
            compared += 1
            if not same(xcoms[key], actual[key]):
                if windows and same(at_run_time(xcoms[key], windows[0]), at_run_time(actual[key], windows[1])):
                    ignored.append(f"{key} (the wall-clock time of each run: {xcoms[key]!r} and {actual[key]!r})")
                    continue
                diffs.append(ValueDiff(task_id=task_id, key=base, map_index=index, airflow=xcoms[key],
                                       prefect=actual[key], reason="values differ"))
        elif key in xcoms:
            compared += 1
            why = "the flow returned no value" if not has_result else "the flow's result has no such key"
            diffs.append(ValueDiff(task_id=task_id, key=base, map_index=index, airflow=xcoms[key], prefect=None,
                                   reason=why))
        else:
            compared += 1
            diffs.append(ValueDiff(task_id=task_id, key=base, map_index=index, airflow=None, prefect=actual[key],
                                   reason="Airflow pushed no such XCom"))
    return diffs, compared, ignored

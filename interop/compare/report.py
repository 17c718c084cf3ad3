"""Reports: per DAG a self-contained HTML page, JSON and Markdown; for a batch ``index.html`` and
``summary.json``. HTML pages carry their own CSS and inline SVG; no script, no network.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

from interop.compare.model import DagComparison, Summary

__all__ = ["verdict", "to_json", "to_markdown", "to_html", "index_html", "write_reports"]


def verdict(c: DagComparison) -> str:
    return "error" if c.error else ("equivalent" if c.equivalent else "different")


def to_json(c: DagComparison) -> str:
    data = c.model_dump(mode="json")
    data["verdict"] = verdict(c)
    data["differences"] = c.differences()
    return json.dumps(data, indent=2, default=repr)


def _short(value: Any, limit: int = 300) -> str:
    text = json.dumps(value, sort_keys=True, default=repr)
    return text if len(text) <= limit else text[: limit - 1] + "…"


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~])")


def _md_text(value: Any) -> str:
    """Text from a DAG (task ids, values, messages) as Markdown that shows it literally: HTML
    escaped, Markdown's punctuation backslashed, on one line."""
    text = html.escape(" ".join(str(value).split()), quote=False)
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def _md_code(value: Any) -> str:
    """Inline code that holds any text: a code span when it holds nothing that could end it or
    a table cell, else ``<code>`` with the text escaped."""
    text = " ".join(str(value).split())
    if text and not any(ch in text for ch in "`|<>&\\"):
        return f"`{text}`"
    escaped = html.escape(text, quote=False).replace("|", "&#124;").replace("`", "&#96;").replace("\\", "&#92;")
    return f"<code>{escaped}</code>"


def to_markdown(c: DagComparison) -> str:
    """A pull-request comment: the verdict, the differences, a table of states.

    Everything that comes from the DAG or its runs (task ids, values, errors) is escaped: the
    page shows it as text, never as HTML or Markdown.
    """
    icon = {"equivalent": "✅", "different": "❌", "error": "⚠️"}[verdict(c)]
    lines = [
        f"### {icon} {_md_code(c.dag_id)}: {verdict(c)}",
        "",
        f"DAG file {_md_code(c.file)}" + (f", logical date {_md_code(c.logical_date)}." if c.logical_date else "."),
    ]
    if c.error:
        lines += ["", "<pre><code>" + html.escape(c.error.strip(), quote=False) + "</code></pre>"]
        return "\n".join(lines) + "\n"
    diffs = c.differences()
    if diffs:
        lines += ["", "**Differences**", ""] + [f"- {_md_text(d)}" for d in diffs]
    else:
        lines += ["", f"Same graph, same values ({c.values_compared} compared), same states."]
    if c.values:
        lines += ["", "| task | key | Airflow | Prefect | why |", "| --- | --- | --- | --- | --- |"]
        for v in c.values:
            key = v.key + (f"[{v.map_index}]" if v.map_index is not None else "")
            lines.append(
                f"| {_md_code(v.task_id)} | {_md_code(key)} | {_md_code(_short(v.airflow, 80))} | "
                f"{_md_code(_short(v.prefect, 80))} | {_md_text(v.reason)} |"
            )
    if c.airflow and c.prefect:
        lines += ["", "| task | Airflow | Prefect | Airflow s | Prefect s |", "| --- | --- | --- | ---: | ---: |"]
        timing = {t.task_id: t for t in c.timings}
        for task_id, a in c.airflow.tasks.items():
            p = c.prefect.tasks.get(task_id)
            t = timing.get(task_id)
            removed = task_id in c.airflow.removed
            prefect_state = "(removed: Empty)" if removed else (_md_text(p.state) if p else "—")
            lines.append(
                f"| {_md_code(task_id)} | {_md_text(a.state)} | {prefect_state} | "
                f"{_fmt(t.airflow_seconds) if t else ''} | {_fmt(t.prefect_seconds) if t else ''} |"
            )
        lines += ["", f"Total: Airflow {_fmt(c.airflow.duration)} s, Prefect {_fmt(c.prefect.duration)} s."]
    if c.ignored_xcoms:
        ignored = "; ".join(f"{_md_code(t)}: {_md_text(', '.join(k))}" for t, k in c.ignored_xcoms.items())
        lines += ["", "XComs not compared (Airflow-internal, not kept by Airflow, or the time of each run): " + ignored]
    return "\n".join(lines) + "\n"


def _fmt(x: float | None) -> str:
    return "" if x is None else f"{x:.3f}"


def _env() -> Any:
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("interop.compare", "templates"), autoescape=select_autoescape(["html", "j2"]))
    env.globals["fmt"] = lambda x: "—" if x is None else f"{x:.3f} s"
    return env


def to_html(c: DagComparison, index_link: str | None = None) -> str:
    """The self-contained HTML page of one comparison."""
    from interop.compare.svg import graph_picture, timing_picture

    rows = []
    if c.airflow is not None:
        bad = {v.task_id for v in c.values} | {s.task_id for s in c.states}
        if c.graph:
            bad |= set(c.graph.missing_nodes)
        for task_id, a in c.airflow.tasks.items():
            p = c.prefect.tasks.get(task_id) if c.prefect else None
            removed = task_id in c.airflow.removed
            rows.append({
                "task_id": task_id, "operator": a.operator, "a_state": a.state,
                "p_state": "removed (Empty)" if removed else (p.state if p else "no task run"),
                "a_values": _short(a.values, 600) if a.values else "",
                "p_values": _short(p.values.get("return_value"), 600) if p and p.values else "",
                "bad": task_id in bad,
            })
        for task_id, p in (c.prefect.tasks.items() if c.prefect else []):
            if task_id not in c.airflow.tasks:
                rows.append({"task_id": task_id, "operator": None, "a_state": "not in the DAG", "p_state": p.state,
                             "a_values": "", "p_values": _short(p.values.get("return_value"), 600), "bad": True})
    return _env().get_template("dag.html.j2").render(
        c=c, verdict=verdict(c), diffs=c.differences() if not c.error else [], rows=rows,
        pic_airflow=graph_picture(c, "airflow"), pic_prefect=graph_picture(c, "prefect"),
        timing=timing_picture(c), index_link=index_link,
    )


def index_html(summary: Summary, files_without_dags: list[str] | None = None) -> str:
    rows = summary.dags
    counts = {k: sum(1 for r in rows if r["verdict"] == k) for k in ("equivalent", "different", "error")}
    import os

    files = [r["file"] for r in rows] + list(files_without_dags or [])
    root = os.path.dirname(os.path.commonprefix(files)) if len(set(files)) > 1 else ""

    def short_file(f: str) -> str:
        return os.path.relpath(f, root) if root and f.startswith(root) else f

    return _env().get_template("index.html.j2").render(
        rows=rows, counts=counts, root=root, short_file=short_file,
        no_dags=[short_file(f) for f in files_without_dags or []],
    )


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "dag"


def write_reports(comparisons: list[DagComparison], out: str | Path, files_without_dags: list[str] | None = None) -> Summary:
    """Write ``<dag_id>.html/.json/.md`` per DAG, ``index.html`` and ``summary.json`` under ``out``.

    ``files_without_dags`` (files walked that define no DAG, e.g. helper modules) are listed at
    the foot of ``index.html``.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    pages: dict[int, str] = {}
    used: set[str] = set()
    for i, c in enumerate(comparisons):
        stem = _slug(c.dag_id)
        n = 2
        while stem in used:
            stem = f"{_slug(c.dag_id)}-{n}"
            n += 1
        used.add(stem)
        (out / f"{stem}.json").write_text(to_json(c) + "\n", encoding="utf-8")
        (out / f"{stem}.md").write_text(to_markdown(c), encoding="utf-8")
        (out / f"{stem}.html").write_text(to_html(c, index_link="index.html"), encoding="utf-8")
        pages[i] = f"{stem}.html"
    summary = Summary.of(comparisons, pages)
    (out / "summary.json").write_text(json.dumps(summary.model_dump(mode="json"), indent=2, default=repr) + "\n", encoding="utf-8")
    (out / "index.html").write_text(index_html(summary, files_without_dags), encoding="utf-8")
    return summary

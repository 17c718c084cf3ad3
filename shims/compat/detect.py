"""Is this DAG file a 1.10/2.x file? The cheap question the runner asks before every load.

:func:`needs_compat` first holds the text against :data:`PREFILTER`, a superset of every word the
compat tables (``converters.names``) react to, without importing libcst or the tables; only a
file that matches is transformed to see whether a rename is required. A test keeps the prefilter
a superset of the tables' words.
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["PREFILTER", "needs_compat"]

#: matches every file the compat transform could change in a required way (and more)
PREFILTER = re.compile(
    r"airflow\.(?:operators|contrib|hooks|sensors|utils|datasets|models|timetables|executors)\b"
    r"|schedule_interval|timetable|concurrency|fail_stop|default_view|orientation|full_filepath"
    r"|provide_context|execution_date|_ds\b|_ds_nodash\b|days_ago|is_venv_installed|apply_defaults"
    r"|airflow\.providers\.(?:postgres|mysql|sqlite)\.operators|none_failed_or_skipped|NONE_FAILED_OR_SKIPPED|\bdummy\b|\bDUMMY\b"
)


def needs_compat(path: str | Path) -> bool:
    """Whether the file uses a 1.10/2.x construct the compat loader rewrites (or refuses).

    Raises nothing: an unreadable or unparsable file answers ``False`` (the plain loader will
    report it).
    """
    try:
        source = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    if not PREFILTER.search(source):
        return False
    from airflow_interop.compat.transform import CompatError, transform_source

    try:
        _, renames = transform_source(source, str(path))
    except CompatError:
        return True
    except SyntaxError:
        return False
    return any(r.required for r in renames)

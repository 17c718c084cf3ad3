"""Same-meaning replacements for names Airflow 3 removed, imported by compat-loaded DAG files.

The compat loader rewrites ``from airflow.utils.dates import days_ago`` (in memory) into an
import from this module; see ``converters.names.REMOVED_NAMES``.
"""

from __future__ import annotations

import importlib.util
import shutil
from datetime import datetime, timedelta, timezone
from typing import Any

__all__ = ["apply_defaults", "days_ago", "is_venv_installed"]


def days_ago(n: int, hour: int = 0, minute: int = 0, second: int = 0, microsecond: int = 0) -> datetime:
    """Midnight UTC (or the given time of day) ``n`` days before today, as Airflow 2's ``days_ago``.

    >>> days_ago(0).tzinfo is not None
    True
    """
    today = datetime.now(timezone.utc).replace(hour=hour, minute=minute, second=second, microsecond=microsecond)
    return today - timedelta(days=n)


def apply_defaults(func: Any) -> Any:
    """Airflow 1.10's ``@apply_defaults`` for custom operators' ``__init__``: returns ``func`` unchanged.

    Since Airflow 2.0 every ``BaseOperator`` subclass applies ``default_args`` itself and the
    decorator only warned; Airflow 3 removed it.

    >>> apply_defaults(len) is len
    True
    """
    return func


def is_venv_installed() -> bool:
    """Whether ``virtualenv`` is on ``PATH`` or importable, as Airflow 2's ``is_venv_installed``."""
    return bool(shutil.which("virtualenv") or importlib.util.find_spec("virtualenv"))

"""``[tool.interop.lint]`` in pyproject.toml: which rules run.

Example::

    [tool.interop.lint]
    select = ["IXL1", "IXL401"]   # codes or code prefixes; default: every rule
    ignore = ["IXL301"]
    exclude = ["plugins/*"]       # globs, relative to the pyproject.toml's folder

The section is looked up in the nearest ``pyproject.toml`` that has it, walking up from the
linted file's folder.
"""

from __future__ import annotations

import fnmatch
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


class ConfigError(ValueError):
    """A ``[tool.interop.lint]`` section that cannot be used."""


@dataclass(frozen=True)
class LintConfig:
    """Rule selection. Empty ``select`` means every rule."""

    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    source: Path | None = None
    exclude: tuple[str, ...] = ()

    def enabled(self, code: str) -> bool:
        """Whether the rule ``code`` runs under this configuration."""
        if self.select and not any(code.startswith(s) for s in self.select):
            return False
        return not any(code.startswith(i) for i in self.ignore)

    def merged(self, select: tuple[str, ...] = (), ignore: tuple[str, ...] = ()) -> "LintConfig":
        """This configuration with command-line ``select``/``ignore`` applied on top."""
        return LintConfig(select or self.select, self.ignore + ignore, self.source, self.exclude)

    def excludes(self, path: Path) -> bool:
        """Whether a file found by walking a folder is excluded (globs relative to the config)."""
        if not self.exclude or self.source is None:
            return False
        try:
            rel = path.resolve().relative_to(self.source.parent.resolve()).as_posix()
        except ValueError:
            return False
        return any(fnmatch.fnmatch(rel, pattern) for pattern in self.exclude)


def _as_codes(value: object, key: str, where: Path) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: [tool.interop.lint] {key} must be a list of rule codes, found {value!r}")
    return tuple(v.strip() for v in value)


def load_config_file(pyproject: Path) -> LintConfig | None:
    """The lint configuration of one ``pyproject.toml``, or ``None`` if it has none.

    Raises:
        ConfigError: The file does not parse or the section has unknown keys or bad values.
    """
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{pyproject}: cannot read: {exc}") from exc
    section = data.get("tool", {}).get("interop", {}).get("lint")
    if section is None:
        return None
    if not isinstance(section, dict):
        raise ConfigError(f"{pyproject}: [tool.interop.lint] must be a table")
    unknown = sorted(set(section) - {"select", "ignore", "exclude"})
    if unknown:
        raise ConfigError(
            f"{pyproject}: unknown keys in [tool.interop.lint]: {unknown}; known: ['exclude', 'ignore', 'select']"
        )
    return LintConfig(
        _as_codes(section.get("select"), "select", pyproject),
        _as_codes(section.get("ignore"), "ignore", pyproject),
        pyproject,
        _as_codes(section.get("exclude"), "exclude", pyproject),
    )


@lru_cache(maxsize=1024)
def find_config(folder: Path) -> LintConfig:
    """The configuration that applies to files in ``folder`` (nearest section walking up)."""
    folder = folder.resolve()
    for candidate in (folder, *folder.parents):
        pyproject = candidate / "pyproject.toml"
        if pyproject.is_file():
            found = load_config_file(pyproject)
            if found is not None:
                return found
    return LintConfig()

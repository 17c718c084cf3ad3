"""A plain-Python client for Airflow's REST API: trigger a DAG run, wait, read results.

* API version detected from the server: ``/api/v2`` (Airflow 3) or ``/api/v1`` (Airflow 2.x).
* Auth from arguments or the environment: a bearer token (``AIRFLOW_API_TOKEN``), or a
  username and password (``AIRFLOW_API_USERNAME`` / ``AIRFLOW_API_PASSWORD``): exchanged for
  a JWT at ``/auth/token`` on Airflow 3, sent as HTTP basic auth on Airflow 2.
  Secrets never appear in logs, ``repr`` or exception text.
* A paused DAG accepts triggers but never runs: :meth:`AirflowClient.run` unpauses it when
  asked to, and otherwise fails at once instead of waiting until the timeout.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote, quote_plus, unquote, urlsplit, urlunsplit

import httpx

from airflow_interop.live.states import DAG_RUN_TERMINAL_STATES, prefect_state_name

log = logging.getLogger("airflow_interop.live")

ENV_URL = "AIRFLOW_API_URL"
ENV_TOKEN = "AIRFLOW_API_TOKEN"
ENV_USERNAME = "AIRFLOW_API_USERNAME"
ENV_PASSWORD = "AIRFLOW_API_PASSWORD"
ENV_VERIFY_SSL = "AIRFLOW_API_VERIFY_SSL"

_API_VERSIONS = ("v2", "v1")
_PAGE_SIZE = 100
_REDACTED = "***"


# ----------------------------------------------------------------------------- redaction


def _encodings(secret: str) -> set[str]:
    """The forms a secret takes in text a server may echo back: raw, JSON-escaped (with and
    without its quotes), URL-encoded (both styles), base64 (an HTTP ``Basic`` header carries
    ``user:password`` so), and ``repr``'s escaping."""
    forms = {secret}
    for ascii_only in (True, False):  # escaped once, and twice (an echo of a request body inside JSON)
        once = json.dumps(secret, ensure_ascii=ascii_only)[1:-1]
        forms |= {once, json.dumps(once, ensure_ascii=ascii_only)[1:-1]}
    forms |= {quote(secret, safe=""), quote_plus(secret), quote(secret)}
    forms.add(repr(secret)[1:-1])
    raw = secret.encode("utf-8")
    forms.add(base64.b64encode(raw).decode("ascii"))
    forms.add(base64.urlsafe_b64encode(raw).decode("ascii"))
    # base64 padding and line breaks vary: also the unpadded form
    forms |= {f.rstrip("=") for f in list(forms) if f.endswith("=")}
    return {f for f in forms if len(f) >= 3}


def redact(text: Any, secrets: Iterable[str | None]) -> str:
    """``text`` with every secret replaced by ``***`` in each encoding an error may carry it in.

    A whole ``Authorization: Basic``/``Bearer`` value is redacted too, whatever it holds: a
    server that echoes request headers shows them so.
    """
    text = str(text)
    forms: set[str] = set()
    for secret in secrets:
        if secret:
            forms |= _encodings(secret)
    for form in sorted(forms, key=len, reverse=True):  # longest first: a form inside another
        text = text.replace(form, _REDACTED)
    return _AUTH_VALUE.sub(lambda m: m.group(1) + _REDACTED, text)


_AUTH_VALUE = re.compile(
    r"\b((?:Basic|Bearer)\s+)(?!\*\*\*)(?=[A-Za-z._~+/=-]*[0-9._~+/=-])[A-Za-z0-9._~+/=*-]{8,}", re.IGNORECASE
)


# ----------------------------------------------------------------------------- errors


class LiveAirflowError(RuntimeError):
    """Base class of the errors raised when talking to a live Airflow."""


class AirflowAPIError(LiveAirflowError):
    """Airflow answered a request with an unexpected HTTP status.

    Attributes:
        status_code: the HTTP status, or ``None`` when the server could not be reached.
        method: the HTTP method.
        path: the request path (no credentials).
        detail: Airflow's error detail, with any secret redacted.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        method: str = "",
        path: str = "",
        detail: Any = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.method = method
        self.path = path
        self.detail = detail


class AirflowAuthError(AirflowAPIError):
    """Airflow rejected the credentials (HTTP 401/403)."""


class DagNotFoundError(AirflowAPIError):
    """The DAG id is not known to the Airflow server; the message lists the DAGs found."""


class TaskNotFoundError(LiveAirflowError):
    """A task id asked for (for XComs) is not in the DAG; the message lists its tasks."""


class DagPausedError(LiveAirflowError):
    """The DAG is paused, so a run of it would wait in ``queued`` forever."""


class DagRunTimeoutError(LiveAirflowError, TimeoutError):
    """The DAG run did not reach a terminal state within the timeout.

    Attributes:
        dag_id: the DAG.
        run_id: the run that was waited on (it keeps running in Airflow).
        last_state: the run's state at the last poll.
    """

    def __init__(
        self, message: str, *, dag_id: str = "", run_id: str = "", last_state: str | None = None
    ) -> None:
        super().__init__(message)
        self.dag_id = dag_id
        self.run_id = run_id
        self.last_state = last_state


class DagRunFailedError(LiveAirflowError):
    """The DAG run ended ``failed``.

    Attributes:
        result: the :class:`DagRunResult` with task states and XComs read back.
    """

    def __init__(self, message: str, *, result: DagRunResult | None = None) -> None:
        super().__init__(message)
        self.result = result


# ------------------------------------------------------------------------ credentials


@dataclass(frozen=True)
class AirflowCredentials:
    """How to authenticate to the Airflow API. ``repr`` never shows the secrets.

    Attributes:
        token: a bearer token (Airflow 3 JWT, or a token your Airflow 2 auth backend accepts).
        username: user name, for ``/auth/token`` (Airflow 3) or HTTP basic auth (Airflow 2).
        password: the user's password.
    """

    token: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AirflowCredentials:
        """Read ``AIRFLOW_API_TOKEN``, ``AIRFLOW_API_USERNAME`` and ``AIRFLOW_API_PASSWORD``."""
        env = os.environ if environ is None else environ
        return cls(
            token=env.get(ENV_TOKEN) or None,
            username=env.get(ENV_USERNAME) or None,
            password=env.get(ENV_PASSWORD) or None,
        )

    @property
    def has_login(self) -> bool:
        """Whether a username and password are both set."""
        return bool(self.username) and self.password is not None

    def secrets(self) -> list[str]:
        """The secret values (to redact from any text shown to users)."""
        return [s for s in (self.token, self.password) if s]

    def __repr__(self) -> str:
        return (
            f"AirflowCredentials(username={self.username!r}, "
            f"token={'<set>' if self.token else None}, "
            f"password={'<set>' if self.password is not None else None})"
        )


# ---------------------------------------------------------------------------- result


@dataclass
class DagRunResult:
    """What a DAG run on a live Airflow ended as.

    Attributes:
        dag_id: the DAG.
        run_id: the DAG run id.
        state: Airflow's DAG run state (``success``, ``failed``; ``queued``/``running`` when
            not waited on).
        logical_date: the run's logical date (ISO text) or ``None``.
        conf: the run's conf.
        start_date: when the run started (ISO text) or ``None``.
        end_date: when the run ended (ISO text) or ``None``.
        task_states: Airflow state per task id (``"task[i]"`` for mapped task instances).
        xcoms: the XComs of the chosen tasks: ``{task_id: {key: value}}``; a mapped task
            instance's XComs appear under ``"key[i]"`` for map index ``i``.
        api_url: the Airflow API base URL (no credentials).
        api_version: ``"v2"`` or ``"v1"``.
        airflow_version: the server's Airflow version.
    """

    dag_id: str
    run_id: str
    state: str
    logical_date: str | None = None
    conf: dict[str, Any] = field(default_factory=dict)
    start_date: str | None = None
    end_date: str | None = None
    task_states: dict[str, str | None] = field(default_factory=dict)
    xcoms: dict[str, dict[str, Any]] = field(default_factory=dict)
    api_url: str = ""
    api_version: str = ""
    airflow_version: str = ""

    @property
    def succeeded(self) -> bool:
        """Whether the run ended ``success``."""
        return self.state == "success"

    @property
    def failed_tasks(self) -> list[str]:
        """Task ids (``task[i]`` for mapped) that ended ``failed`` or ``upstream_failed``."""
        return [t for t, s in self.task_states.items() if s in ("failed", "upstream_failed")]

    @property
    def prefect_state_name(self) -> str:
        """The name of the Prefect state this run maps to (``Completed``, ``Failed``, ...)."""
        return prefect_state_name(self.state)[1]

    def describe(self) -> str:
        """One line naming the run and how it ended."""
        text = f"DAG run `{self.run_id}` of `{self.dag_id}` on {self.api_url} ended `{self.state}`"
        if self.failed_tasks:
            text += f"; failed tasks: {self.failed_tasks}"
        return text

    def to_dict(self) -> dict[str, Any]:
        """The result as plain JSON-able data (XCom values as Airflow returned them)."""
        return asdict(self)

    def to_prefect_state(self):
        """The Prefect state for this run: ``Completed`` with the result as data, ``Failed``
        with a :class:`DagRunFailedError`, or the matching non-final state."""
        from airflow_interop.live.states import to_prefect_state

        if self.state == "failed":
            error = DagRunFailedError(self.describe(), result=self)
            return to_prefect_state(self.state, message=str(error), data=error)
        return to_prefect_state(self.state, message=self.describe(), data=self)


# ---------------------------------------------------------------------------- client


def _env_bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() not in ("0", "false", "no", "off")


def _split_url(url: str) -> tuple[str, str | None, str | None, str | None]:
    """Return (base URL without credentials or /api/vN suffix, pinned version, user, password)."""
    parts = urlsplit(url.strip())
    if not parts.scheme or not parts.hostname:
        raise LiveAirflowError(
            f"Airflow API URL {url.split('@')[-1]!r} is not an absolute http(s) URL "
            "(expected e.g. http://127.0.0.1:8080)"
        )
    # user:password in a URL are percent-encoded: the credentials are what they encode
    username = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    netloc = parts.hostname if ":" not in (parts.hostname or "") else f"[{parts.hostname}]"
    if parts.port:
        netloc += f":{parts.port}"
    path = parts.path.rstrip("/")
    pinned = None
    for version in _API_VERSIONS:
        if path.endswith(f"/api/{version}"):
            pinned = version
            path = path[: -len(f"/api/{version}")]
            break
    return urlunsplit((parts.scheme, netloc, path, "", "")), pinned, username, password


def _iso(value: datetime | str | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"logical_date {value!r} is not an ISO 8601 date-time") from None
        value = parsed
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.isoformat()


class AirflowClient:
    """Talk to one Airflow server's REST API (v2 on Airflow 3, v1 on Airflow 2.x).

    Args:
        base_url: the server's base URL (``http://host:8080``; a trailing ``/api/v1`` or
            ``/api/v2`` pins the API version). Defaults to ``$AIRFLOW_API_URL``.
        credentials: how to authenticate. Defaults to the environment
            (:meth:`AirflowCredentials.from_env`); credentials in the URL
            (``http://user:pw@host``) are used when no username is given otherwise.
        api_version: ``"v2"`` or ``"v1"`` to skip detection.
        timeout: the HTTP timeout per request, in seconds.
        verify: verify TLS certificates (default ``$AIRFLOW_API_VERIFY_SSL`` or ``True``).
        environ: the environment to read defaults from (``os.environ`` if omitted).

    Raises:
        LiveAirflowError: no URL given and ``AIRFLOW_API_URL`` is not set, or the URL is not
            an absolute http(s) URL.

    Examples:
        >>> with AirflowClient("http://127.0.0.1:8080") as client:  # doctest: +SKIP
        ...     result = client.run("etl", conf={"day": "2024-01-01"}, xcom_task_ids=["load"])
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        credentials: AirflowCredentials | None = None,
        api_version: str | None = None,
        timeout: float = 30.0,
        verify: bool | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        env = os.environ if environ is None else environ
        url = base_url or env.get(ENV_URL)
        if not url:
            raise LiveAirflowError(
                f"No Airflow API URL: pass base_url or set {ENV_URL} (e.g. http://127.0.0.1:8080)"
            )
        self.base_url, pinned, url_user, url_password = _split_url(url)
        creds = credentials if credentials is not None else AirflowCredentials.from_env(env)
        if url_user and not creds.username and not creds.token:
            creds = AirflowCredentials(username=url_user, password=url_password or "")
        self._credentials = creds
        self._secrets = creds.secrets() + ([url_password] if url_password else [])
        if api_version is not None and api_version not in _API_VERSIONS:
            raise ValueError(f"api_version must be one of {list(_API_VERSIONS)}, not {api_version!r}")
        self._api_version = api_version or pinned
        self._airflow_version: str | None = None
        self._login_token: str | None = None
        verify = _env_bool(env.get(ENV_VERIFY_SSL), True) if verify is None else verify
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, verify=verify)

    # -- context management --------------------------------------------------------

    def __enter__(self) -> AirflowClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._http.close()

    def __repr__(self) -> str:
        return (
            f"AirflowClient(base_url={self.base_url!r}, api_version={self._api_version!r}, "
            f"credentials={self._credentials!r})"
        )

    # -- redaction and requests ----------------------------------------------------

    def _redact(self, text: Any) -> str:
        creds = self._credentials
        pairs = []
        if creds.username and creds.password is not None:
            pairs.append(f"{creds.username}:{creds.password}")
        return redact(text, [*self._secrets, self._login_token, *pairs])

    def _auth_headers(self) -> dict[str, str]:
        creds = self._credentials
        if self._api_version == "v1":
            if creds.has_login:
                pair = f"{creds.username}:{creds.password}".encode()
                return {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}
            if creds.token:
                return {"Authorization": f"Bearer {creds.token}"}
            return {}
        if creds.token:
            return {"Authorization": f"Bearer {creds.token}"}
        if creds.has_login:
            if self._login_token is None:
                self._login()
            return {"Authorization": f"Bearer {self._login_token}"}
        return {}

    def _login(self) -> None:
        """Exchange the username and password for a JWT (Airflow 3 ``POST /auth/token``)."""
        creds = self._credentials
        try:
            response = self._http.post(
                "/auth/token", json={"username": creds.username, "password": creds.password}
            )
        except httpx.HTTPError as exc:
            raise self._connection_error("POST", "/auth/token", exc) from None
        if response.status_code in (401, 403):
            raise AirflowAuthError(
                f"Airflow at {self.base_url} rejected the username/password of user "
                f"{creds.username!r} (POST /auth/token answered {response.status_code}). "
                f"Check {ENV_USERNAME}/{ENV_PASSWORD}.",
                status_code=response.status_code,
                method="POST",
                path="/auth/token",
                detail=self._redact(self._detail(response)),
            )
        if response.status_code not in (200, 201):
            raise self._api_error("POST", "/auth/token", response)
        self._login_token = response.json()["access_token"]
        log.debug("Obtained an API token for user %r from %s", creds.username, self.base_url)

    @staticmethod
    def _detail(response: httpx.Response) -> Any:
        try:
            body = response.json()
        except ValueError:
            return response.text[:500]
        if isinstance(body, dict):
            # Airflow 3 (FastAPI): {"detail": ...}; Airflow 2 (connexion): {"detail", "title", ...}
            return body.get("detail") or body.get("title") or body
        return body

    def _api_error(self, method: str, path: str, response: httpx.Response) -> AirflowAPIError:
        detail = self._redact(self._detail(response))
        cls = AirflowAuthError if response.status_code in (401, 403) else AirflowAPIError
        hint = ""
        if cls is AirflowAuthError:
            hint = f" Check {ENV_TOKEN} or {ENV_USERNAME}/{ENV_PASSWORD}."
        return cls(
            f"Airflow API {method} {path} on {self.base_url} answered "
            f"{response.status_code}: {detail}.{hint}",
            status_code=response.status_code,
            method=method,
            path=path,
            detail=detail,
        )

    def _connection_error(self, method: str, path: str, exc: Exception) -> AirflowAPIError:
        return AirflowAPIError(
            f"Cannot reach Airflow at {self.base_url} ({method} {path}): "
            f"{type(exc).__name__}: {self._redact(exc)}",
            method=method,
            path=path,
        )

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        ok: Iterable[int] = (200,),
    ) -> Any:
        """Send one API request (``path`` below ``/api/vN``) and return the JSON body."""
        full = f"{self.api_prefix}{path}"
        for attempt in (1, 2):
            headers = self._auth_headers()
            try:
                response = self._http.request(method, full, params=params, json=json, headers=headers)
            except httpx.HTTPError as exc:
                raise self._connection_error(method, full, exc) from None
            if response.status_code == 401 and self._login_token is not None and attempt == 1:
                # The JWT from /auth/token expired: log in again once.
                self._login_token = None
                continue
            break
        if response.status_code not in set(ok):
            raise self._api_error(method, full, response)
        if not response.content:
            return None
        return response.json()

    # -- version -----------------------------------------------------------------------

    @property
    def api_version(self) -> str:
        """``"v2"`` (Airflow 3) or ``"v1"`` (Airflow 2.x), detected from the server once."""
        if self._api_version is None:
            self.detect_version()
        assert self._api_version is not None
        return self._api_version

    @property
    def api_prefix(self) -> str:
        """``/api/v2`` or ``/api/v1``."""
        return f"/api/{self.api_version}"

    @property
    def airflow_version(self) -> str:
        """The server's Airflow version (``GET /api/vN/version``)."""
        if self._airflow_version is None:
            self._airflow_version = str(self._request("GET", "/version").get("version", ""))
        return self._airflow_version

    def detect_version(self) -> str:
        """Ask the server which REST API it serves.

        Tries ``GET /api/v2/version`` then ``GET /api/v1/version``; an answer of 200, 401 or
        403 means the API exists.

        Returns:
            ``"v2"`` or ``"v1"``.

        Raises:
            AirflowAPIError: neither API answered; the message lists what each returned.
        """
        found: list[str] = []
        for version in _API_VERSIONS:
            path = f"/api/{version}/version"
            try:
                response = self._http.get(path)
            except httpx.HTTPError as exc:
                raise self._connection_error("GET", path, exc) from None
            found.append(f"{path}: {response.status_code}")
            if response.status_code in (200, 401, 403):
                self._api_version = version
                if response.status_code == 200:
                    try:
                        self._airflow_version = str(response.json().get("version", ""))
                    except ValueError:
                        pass
                log.debug("Airflow at %s serves API %s", self.base_url, version)
                return version
        raise AirflowAPIError(
            f"No Airflow REST API found at {self.base_url}. Tried: {found}. "
            "Is this the Airflow API server (Airflow 3) or webserver (Airflow 2) URL?"
        )

    # -- DAGs --------------------------------------------------------------------------

    def list_dag_ids(self) -> list[str]:
        """All DAG ids the server knows (paged)."""
        return [d["dag_id"] for d in self._paged("/dags", "dags")]

    def get_dag(self, dag_id: str) -> dict[str, Any]:
        """The DAG's details (``is_paused``, ...).

        Raises:
            DagNotFoundError: the server does not know the DAG; the message lists the DAGs
                it knows.
        """
        path = f"/dags/{quote(dag_id, safe='')}"
        try:
            return self._request("GET", path)
        except AirflowAPIError as exc:
            if exc.status_code != 404:
                raise
        try:
            found = sorted(self.list_dag_ids())
        except AirflowAPIError:
            found = []
        raise DagNotFoundError(
            f"DAG `{dag_id}` not found on Airflow at {self.base_url}. Found DAGs: {found}",
            status_code=404,
            method="GET",
            path=f"{self.api_prefix}{path}",
        )

    def list_task_ids(self, dag_id: str) -> list[str]:
        """The task ids of a DAG (``GET /dags/{dag_id}/tasks``)."""
        body = self._request("GET", f"/dags/{quote(dag_id, safe='')}/tasks")
        return [t["task_id"] for t in body.get("tasks", [])]

    def set_paused(self, dag_id: str, paused: bool) -> None:
        """Pause or unpause a DAG."""
        self._request(
            "PATCH",
            f"/dags/{quote(dag_id, safe='')}",
            params={"update_mask": "is_paused"},
            json={"is_paused": paused},
        )
        log.info("%s DAG %s on %s", "Paused" if paused else "Unpaused", dag_id, self.base_url)

    # -- DAG runs ----------------------------------------------------------------------

    def trigger(
        self,
        dag_id: str,
        *,
        conf: Mapping[str, Any] | None = None,
        logical_date: datetime | str | None = None,
        run_id: str | None = None,
        note: str | None = None,
    ) -> dict[str, Any]:
        """Create a DAG run (``POST /dags/{dag_id}/dagRuns``).

        Args:
            dag_id: the DAG.
            conf: the run's conf (``dag_run.conf``).
            logical_date: the run's logical date (a naive datetime counts as UTC). ``None``:
                on Airflow 3 the run has no logical date; on Airflow 2 the server uses now.
            run_id: the DAG run id (Airflow generates ``manual__...`` if omitted).
            note: a note shown on the run in Airflow's UI.

        Returns:
            The DAG run as Airflow returns it (``dag_run_id``, ``state``, ...).
        """
        body: dict[str, Any] = {"conf": dict(conf or {})}
        iso = _iso(logical_date)
        if self.api_version == "v2" or iso is not None:
            # Airflow 3 requires the key (null = no logical date); Airflow 2.2+ names it so too.
            body["logical_date"] = iso
        if run_id:
            body["dag_run_id"] = run_id
        if note:
            body["note"] = note
        run = self._request("POST", f"/dags/{quote(dag_id, safe='')}/dagRuns", json=body)
        log.info("Triggered DAG run %s of %s on %s", run.get("dag_run_id"), dag_id, self.base_url)
        return run

    def get_dag_run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        """One DAG run as Airflow returns it."""
        return self._request("GET", f"/dags/{quote(dag_id, safe='')}/dagRuns/{quote(run_id, safe='')}")

    def list_dag_runs(self, dag_id: str) -> list[dict[str, Any]]:
        """All runs of a DAG (paged)."""
        return self._paged(f"/dags/{quote(dag_id, safe='')}/dagRuns", "dag_runs")

    def wait(
        self,
        dag_id: str,
        run_id: str,
        *,
        timeout: float = 600.0,
        poll_interval: float = 1.0,
        max_poll_interval: float = 30.0,
        backoff: float = 1.5,
    ) -> dict[str, Any]:
        """Poll a DAG run until it is ``success`` or ``failed``.

        Polls start ``poll_interval`` seconds apart and grow by ``backoff`` up to
        ``max_poll_interval``. While the run is ``queued`` the DAG's pause flag is checked
        too: a paused DAG never starts its runs, so waiting fails at once.

        Returns:
            The final DAG run as Airflow returns it.

        Raises:
            DagPausedError: the run is queued and the DAG is paused.
            DagRunTimeoutError: no terminal state within ``timeout`` seconds (the run is left
                as it is in Airflow).
        """
        deadline = time.monotonic() + timeout
        interval = max(poll_interval, 0.05)
        while True:
            run = self.get_dag_run(dag_id, run_id)
            state = run.get("state")
            log.debug("DAG run %s of %s is %s", run_id, dag_id, state)
            if state in DAG_RUN_TERMINAL_STATES:
                return run
            if state == "queued" and self.get_dag(dag_id).get("is_paused"):
                raise DagPausedError(
                    f"DAG `{dag_id}` is paused on Airflow at {self.base_url}: its run `{run_id}` "
                    "stays queued and never starts. Unpause the DAG in Airflow, or trigger with "
                    "unpause=True."
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DagRunTimeoutError(
                    f"DAG run `{run_id}` of `{dag_id}` on {self.base_url} is still `{state}` after "
                    f"{timeout:g} s; it keeps running in Airflow.",
                    dag_id=dag_id,
                    run_id=run_id,
                    last_state=state,
                )
            time.sleep(min(interval, remaining))
            interval = min(interval * backoff, max_poll_interval)

    # -- task instances and XComs ------------------------------------------------------

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        """Airflow state per task instance of a run (``"task[i]"`` for mapped instances)."""
        path = f"/dags/{quote(dag_id, safe='')}/dagRuns/{quote(run_id, safe='')}/taskInstances"
        states: dict[str, str | None] = {}
        for ti in self._paged(path, "task_instances"):
            key = ti["task_id"]
            if ti.get("map_index", -1) not in (-1, None):
                key = f"{key}[{ti['map_index']}]"
            states[key] = ti.get("state")
        return states

    def xcom_entries(self, dag_id: str, run_id: str, task_id: str) -> list[dict[str, Any]]:
        """The XCom entries (key, map_index; no values) of one task in a run."""
        path = (
            f"/dags/{quote(dag_id, safe='')}/dagRuns/{quote(run_id, safe='')}"
            f"/taskInstances/{quote(task_id, safe='')}/xcomEntries"
        )
        return self._paged(path, "xcom_entries")

    def get_xcom(
        self, dag_id: str, run_id: str, task_id: str, key: str = "return_value", map_index: int = -1
    ) -> Any:
        """One XCom value, as JSON (Airflow 3 returns it natively; on Airflow 2 the client asks
        for ``stringify=false``, which recent 2.x servers honour; older ones return the value as
        the text Airflow's UI shows)."""
        path = (
            f"/dags/{quote(dag_id, safe='')}/dagRuns/{quote(run_id, safe='')}"
            f"/taskInstances/{quote(task_id, safe='')}/xcomEntries/{quote(key, safe='')}"
        )
        params: dict[str, Any] = {"map_index": map_index}
        if self.api_version == "v1":
            params["stringify"] = "false"
        return self._request("GET", path, params=params).get("value")

    def xcoms(
        self, dag_id: str, run_id: str, task_id: str, keys: Sequence[str] | None = None
    ) -> dict[str, Any]:
        """The XComs of one task in a run: ``{key: value}``, ``"key[i]"`` for map index ``i``.

        Args:
            keys: only these keys (all keys if ``None``).
        """
        values: dict[str, Any] = {}
        for entry in self.xcom_entries(dag_id, run_id, task_id):
            key = entry["key"]
            if keys is not None and key not in keys:
                continue
            map_index = entry.get("map_index", -1)
            map_index = -1 if map_index is None else map_index
            name = key if map_index == -1 else f"{key}[{map_index}]"
            values[name] = self.get_xcom(dag_id, run_id, task_id, key, map_index)
        return values

    def _paged(
        self, path: str, field_name: str, params: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        offset = 0
        while True:
            page_params = {**(params or {}), "limit": _PAGE_SIZE, "offset": offset}
            body = self._request("GET", path, params=page_params)
            page = body.get(field_name, [])
            items.extend(page)
            total = body.get("total_entries", len(items))
            offset += len(page)
            if not page or offset >= total:
                return items

    # -- all together ------------------------------------------------------------------

    def run(
        self,
        dag_id: str,
        *,
        conf: Mapping[str, Any] | None = None,
        logical_date: datetime | str | None = None,
        run_id: str | None = None,
        note: str | None = None,
        unpause: bool = False,
        wait: bool = True,
        timeout: float = 600.0,
        poll_interval: float = 1.0,
        max_poll_interval: float = 30.0,
        xcom_task_ids: Sequence[str] | str | None = None,
        xcom_keys: Sequence[str] | None = None,
        raise_on_failure: bool = False,
    ) -> DagRunResult:
        """Trigger a DAG run, wait for it, and read back task states and XComs.

        Args:
            dag_id: the DAG to run.
            conf: the run's conf.
            logical_date: the run's logical date (datetime or ISO text; naive = UTC).
            run_id: the DAG run id (generated by Airflow if omitted).
            note: a note on the run.
            unpause: unpause the DAG first if it is paused. Without it, a paused DAG fails at
                once (no run is created) when ``wait`` is true.
            wait: wait for a terminal state. If false, return right after triggering.
            timeout: seconds to wait for a terminal state.
            poll_interval: seconds between the first polls.
            max_poll_interval: the longest pause between polls (the interval grows 1.5x).
            xcom_task_ids: tasks whose XComs to return; ``"*"`` for every task of the run.
            xcom_keys: only these XCom keys (all keys if ``None``).
            raise_on_failure: raise :class:`DagRunFailedError` if the run ends ``failed``.

        Returns:
            A :class:`DagRunResult`.

        Raises:
            DagNotFoundError: the DAG is not on the server (the DAGs found are listed).
            TaskNotFoundError: a task in ``xcom_task_ids`` is not in the DAG.
            DagPausedError: the DAG is paused, ``unpause`` is false and ``wait`` is true.
            DagRunTimeoutError: the run did not end within ``timeout``.
            DagRunFailedError: the run failed and ``raise_on_failure`` is true.
        """
        dag = self.get_dag(dag_id)
        if isinstance(xcom_task_ids, str) and xcom_task_ids != "*":
            xcom_task_ids = [xcom_task_ids]
        if xcom_task_ids and xcom_task_ids != "*":
            known = self.list_task_ids(dag_id)
            missing = [t for t in xcom_task_ids if t not in known]
            if missing:
                raise TaskNotFoundError(
                    f"Task(s) {missing} not found in DAG `{dag_id}` on {self.base_url}. "
                    f"Found tasks: {sorted(known)}"
                )
        if dag.get("is_paused"):
            if unpause:
                self.set_paused(dag_id, False)
            elif wait:
                raise DagPausedError(
                    f"DAG `{dag_id}` is paused on Airflow at {self.base_url}: a run would stay "
                    "queued and never start, so none was triggered. Pass unpause=True or unpause "
                    "the DAG in Airflow."
                )
            else:
                log.warning("DAG %s is paused: run stays queued until it is unpaused", dag_id)

        run = self.trigger(dag_id, conf=conf, logical_date=logical_date, run_id=run_id, note=note)
        run_id = run["dag_run_id"]
        if wait:
            run = self.wait(
                dag_id,
                run_id,
                timeout=timeout,
                poll_interval=poll_interval,
                max_poll_interval=max_poll_interval,
            )
        result = DagRunResult(
            dag_id=dag_id,
            run_id=run_id,
            state=run.get("state") or "queued",
            logical_date=run.get("logical_date") or run.get("execution_date"),
            conf=run.get("conf") or {},
            start_date=run.get("start_date"),
            end_date=run.get("end_date"),
            api_url=self.base_url,
            api_version=self.api_version,
            airflow_version=self._airflow_version or "",
        )
        if wait:
            result.task_states = self.task_states(dag_id, run_id)
            if xcom_task_ids:
                task_ids = (
                    sorted({k.split("[")[0] for k in result.task_states})
                    if xcom_task_ids == "*"
                    else list(xcom_task_ids)
                )
                for task_id in task_ids:
                    result.xcoms[task_id] = self.xcoms(dag_id, run_id, task_id, xcom_keys)
        log.info("%s", result.describe())
        if raise_on_failure and result.state == "failed":
            raise DagRunFailedError(result.describe(), result=result)
        return result

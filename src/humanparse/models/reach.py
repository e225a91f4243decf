"""Is a model hub reachable at all? One short TCP connect before the hub's own client is used.

The hub clients retry a failed connection with back-off (``modelscope`` eight times, about 50 s, printing a
warning each time), which is right for a flaky link and wrong for a machine with no route to the hub at all.
:func:`hub_unreachable` tries, once, to open a TCP connection to each of the hub's endpoints (through the
proxy that ``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``NO_PROXY`` select, as the clients would), all endpoints at
once, within :func:`probe_timeout` seconds in all, name resolution included. Only when none connects is the
hub called unreachable; the clients' retries then never start. The answer is kept for :data:`CACHE_S`
seconds, so one process asks once (a long-running server asks again later).

Endpoints: ModelScope ``MODELSCOPE_ENDPOINT`` (or the deprecated ``MODELSCOPE_DOMAIN``) when set, else
``https://modelscope.cn`` and ``https://www.modelscope.ai`` (the client falls back from one to the other);
Hugging Face ``HF_ENDPOINT`` when set, else ``https://huggingface.co``.
``HUMANPARSE_HUB_TIMEOUT`` sets the probe's time limit in seconds (default 3); ``0`` turns the probe off.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import urllib.request
from urllib.parse import urlsplit

TIMEOUT_ENV = "HUMANPARSE_HUB_TIMEOUT"
DEFAULT_TIMEOUT_S = 3.0
CACHE_S = 60.0
"""How long an answer (reachable or not) is reused before the hub is probed again."""

_MODELSCOPE_DEFAULTS = ("https://modelscope.cn", "https://www.modelscope.ai")
_HF_DEFAULT = "https://huggingface.co"

_cache: dict[tuple[tuple[str, int], ...], tuple[float, str | None]] = {}
_cache_lock = threading.Lock()


def probe_timeout() -> float:
    """Seconds the probe may take (``HUMANPARSE_HUB_TIMEOUT``, default 3; ``0``: no probe).

    Raises:
        ValueError: the variable is not a number >= 0 (the message names it).
    """
    raw = os.environ.get(TIMEOUT_ENV, "").strip()
    if not raw:
        return DEFAULT_TIMEOUT_S
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise ValueError(f"{TIMEOUT_ENV}={raw!r} is not a number of seconds >= 0")
    return value


def hub_endpoints(hub: str) -> list[str]:
    """The base URLs the client of ``hub`` (``"modelscope"`` or ``"huggingface"``) will contact (module doc)."""
    if hub == "modelscope":
        explicit = os.environ.get("MODELSCOPE_ENDPOINT", "").strip() or os.environ.get("MODELSCOPE_DOMAIN", "").strip()
        return [explicit] if explicit else list(_MODELSCOPE_DEFAULTS)
    if hub == "huggingface":
        return [os.environ.get("HF_ENDPOINT", "").strip() or _HF_DEFAULT]
    raise ValueError(f"unknown hub {hub!r}")


def connect_target(url: str) -> tuple[str, int]:
    """``(host, port)`` a client opens for ``url``: the proxy's when a proxy variable applies to it."""
    parts = urlsplit(url if "://" in url else f"https://{url}")
    scheme = parts.scheme.lower() or "https"
    host = parts.hostname or ""
    proxy = urllib.request.getproxies().get(scheme)
    if proxy and not urllib.request.proxy_bypass(host):
        p = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        return p.hostname or "", p.port or (443 if p.scheme == "https" else 80)
    return host, parts.port or (443 if scheme == "https" else 80)


def _connect(host: str, port: int, timeout: float, out: dict, done: threading.Event, total: int) -> None:
    try:
        socket.create_connection((host, port), timeout=timeout).close()
        why = None
    except socket.gaierror:
        why = "its name does not resolve"
    except TimeoutError:
        why = f"no answer within {timeout:g} s"
    except OSError as e:
        why = (e.strerror or str(e) or type(e).__name__).lower()
    out[(host, port)] = why
    if why is None or len(out) == total:
        done.set()


def probe(targets: list[tuple[str, int]], timeout: float) -> str | None:
    """Try a TCP connection to every ``(host, port)`` at once, all within ``timeout`` seconds (a hanging name
    lookup included). Returns ``None`` when one connects, else why none did (one phrase per target)."""
    results: dict = {}
    done = threading.Event()
    for h, p in targets:
        threading.Thread(target=_connect, args=(h, p, timeout, results, done, len(targets)), daemon=True).start()
    done.wait(timeout)
    answers = dict(results)
    if any(v is None for v in answers.values()):
        return None
    return "; ".join(f"cannot connect to {h}:{p}: {answers.get((h, p)) or f'no answer within {timeout:g} s'}"
                     for h, p in targets)


def hub_unreachable(hub: str) -> str | None:
    """Why ``hub`` cannot be reached (e.g. ``"cannot connect to modelscope.cn:443: its name does not
    resolve"``), or ``None`` when it can, or the probe is off (``HUMANPARSE_HUB_TIMEOUT=0``). Cached for
    :data:`CACHE_S` seconds per set of endpoints.

    Raises:
        ValueError: ``HUMANPARSE_HUB_TIMEOUT`` is not a number >= 0.
    """
    timeout = probe_timeout()
    if timeout == 0:
        return None
    targets = tuple(dict.fromkeys(connect_target(u) for u in hub_endpoints(hub)))
    now = time.monotonic()
    with _cache_lock:
        hit = _cache.get(targets)
        if hit is not None and now - hit[0] < CACHE_S:
            return hit[1]
    why = probe(list(targets), timeout)
    with _cache_lock:
        _cache[targets] = (time.monotonic(), why)
    return why


def forget() -> None:
    """Drop the cached answers (the next :func:`hub_unreachable` probes again)."""
    with _cache_lock:
        _cache.clear()


__all__ = ["CACHE_S", "TIMEOUT_ENV", "connect_target", "forget", "hub_endpoints", "hub_unreachable", "probe",
           "probe_timeout"]

"""Library exceptions (requests, pypsrp, pywinrm, pyspnego) turned into adsuite's errors,
and the bounded retry of opening a session.

Only opening a session is retried, and only after a transient connection failure
(refused, reset, connect or read timeout): a script is never sent twice, because the
first attempt may have run. A TLS certificate that does not validate is not transient.
"""

from __future__ import annotations

import logging
import ssl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pypsrp.exceptions
import requests
import spnego.exceptions
import winrm.exceptions

from adsuite.connectors.winrm.errors import (
    WinRmAuthFailed,
    WinRmError,
    WinRmTimeout,
    WinRmUnreachable,
)
from adsuite.connectors.winrm.model import WinRmTarget

log = logging.getLogger(__name__)

ACCESS_DENIED = 5  # WSManFault code when the account may not use the endpoint
_AUTH_FAILURES: tuple[type[BaseException], ...] = (
    pypsrp.exceptions.AuthenticationError,
    winrm.exceptions.AuthenticationError,
    spnego.exceptions.SpnegoError,
)
try:
    from requests_credssp.exceptions import AuthenticationException as _CredSspFailure

    _AUTH_FAILURES += (_CredSspFailure,)
except ImportError:  # pragma: no cover - requests-credssp is a dependency
    pass


@contextmanager
def translated(target: WinRmTarget, script: str | None, seconds: float) -> Iterator[None]:
    """Re-raise what the block raises as a :class:`WinRmError` naming the host."""
    host = target.name
    try:
        yield
    except WinRmError:
        raise
    except requests.exceptions.SSLError as error:
        if not _certificate_refused(error):
            raise _unreachable(host, f"TLS handshake with {host} ({target.url}) failed") from None
        raise WinRmUnreachable(
            f"TLS with {host} ({target.url}) failed: its certificate is not trusted",
            host=host,
            hint="set ca_file on the host's winrm entry to the CA that issued it",
        ) from None
    except requests.exceptions.ReadTimeout:
        if script is None:
            raise _unreachable(host, f"{host} accepted the connection but did not answer") from None
        raise WinRmTimeout(
            f"{host} stopped answering while running {script}",
            host=host,
            script=script,
            seconds=seconds,
        ) from None
    except requests.exceptions.ConnectionError:
        raise _unreachable(host, f"cannot connect to {host} ({target.url})") from None
    except _AUTH_FAILURES as error:
        raise WinRmAuthFailed(
            f"{host} rejected the credentials of {target.username} ({target.auth})",
            host=host,
            hint=_short(error),
        ) from None
    except (pypsrp.exceptions.WSManFaultError, winrm.exceptions.WSManFaultError) as error:
        raise _fault(target, error) from None
    except (pypsrp.exceptions.WinRMTransportError, winrm.exceptions.WinRMTransportError) as error:
        raise WinRmError(f"{host} answered HTTP {error.code}", host=host) from None
    except (pypsrp.exceptions.WinRMError, winrm.exceptions.WinRMError) as error:
        raise WinRmError(f"WinRM with {host} failed: {_short(error)}", host=host) from None


def with_open_retries(target: WinRmTarget, opener: Callable[[], None]) -> None:
    """Run ``opener``; after a transient connection failure wait and try again, bounded."""
    for attempt in range(target.retries + 1):
        try:
            with translated(target, None, target.connect_timeout):
                opener()
            return
        except WinRmUnreachable as error:
            if not error.transient or attempt == target.retries:
                raise
            delay = target.retry_backoff * 2**attempt
            log.warning(
                "%s; retrying in %gs (attempt %d of %d)",
                error.message,
                delay,
                attempt + 2,
                target.retries + 1,
            )
            time.sleep(delay)


def _certificate_refused(error: BaseException) -> bool:
    """True when certificate validation failed (not a connection cut mid-handshake)."""
    seen: set[int] = set()
    pending: list[object] = [error]
    while pending:
        item = pending.pop()
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        if isinstance(item, ssl.SSLCertVerificationError):
            return True
        seen.add(id(item))
        pending.extend(
            [item.__cause__, item.__context__, getattr(item, "reason", None), *item.args]
        )
    return "CERTIFICATE_VERIFY_FAILED" in str(error)


def _unreachable(host: str, message: str) -> WinRmUnreachable:
    error = WinRmUnreachable(message, host=host)
    error.transient = True
    return error


def _fault(target: WinRmTarget, error: Exception) -> WinRmError:
    code = getattr(error, "wsman_fault_code", None) or getattr(error, "code", None)
    reason = getattr(error, "reason", None) or "no reason given"
    if code == ACCESS_DENIED:
        return WinRmAuthFailed(
            f"{target.name} denied {target.username} access to WinRM: {reason}",
            host=target.name,
            hint="the account must be allowed to use the PowerShell remoting endpoint",
        )
    return WinRmError(f"{target.name} sent WS-Management fault {code}: {reason}", host=target.name)


def _short(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__

"""Where the broker is: the one parser of broker URLs.

``mqtt://[user[:password]@]host[:port]`` for plain TCP (port 1883 by default) and
``mqtts://...`` for TLS (port 8883 by default); ``tcp://`` and ``ssl://`` are accepted
as their aliases. Credentials in the URL are percent-decoded, so a password holding
``@``, ``:`` or ``/`` is written escaped (``p%40ss``); credentials given explicitly
(from their own environment variables) win over those in the URL.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from urllib.parse import SplitResult, unquote, urlsplit

PLAIN_SCHEMES = ("mqtt", "tcp")
TLS_SCHEMES = ("mqtts", "ssl")
PLAIN_PORT = 1883
TLS_PORT = 8883
DEFAULT_HOST = "127.0.0.1"


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int
    tls: bool
    username: str | None
    password: str | None
    ca_file: str | None = None  # a private CA to verify the broker with (TLS); None: the system's CAs

    @classmethod
    def parse(cls, url: str, username: str | None = None, password: str | None = None,
              ca_file: str | None = None) -> BrokerAddress:
        """The address in `url`; `username`/`password`, when given, replace the URL's own."""
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        if scheme not in PLAIN_SCHEMES + TLS_SCHEMES:
            raise ValueError(
                f"broker URL must be mqtt:// or mqtts://, got scheme {parts.scheme!r} in {_redacted(parts)!r}")
        tls = scheme in TLS_SCHEMES
        return cls(
            host=parts.hostname or DEFAULT_HOST,
            port=_port(parts) or (TLS_PORT if tls else PLAIN_PORT),
            tls=tls,
            username=username or (unquote(parts.username) if parts.username else None),
            password=password or (unquote(parts.password) if parts.password else None),
            ca_file=ca_file,
        )

    def without_credentials(self) -> BrokerAddress:
        """The same broker for someone else to log in to (e.g. written into a gateway's file)."""
        return replace(self, username=None, password=None)

    @property
    def url(self) -> str:
        """The broker's URL without credentials: safe to log."""
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"


def _port(parts: SplitResult) -> int | None:
    try:
        port = parts.port  # raises on a non-number or a number out of range
    except ValueError as exc:
        raise ValueError(f"broker URL has a bad port in {_redacted(parts)!r}: {exc}") from None
    if port == 0:
        raise ValueError(f"broker URL has a bad port in {_redacted(parts)!r}: 0")
    return port


def _redacted(parts: SplitResult) -> str:
    """The URL for an error message, its password hidden."""
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        netloc = f"{userinfo.partition(':')[0]}:***@{hostport}" if ":" in userinfo else netloc
    return parts._replace(netloc=netloc).geturl()

"""HTTP integration, as ChirpStack v4's: each application event is POSTed as the same JSON the MQTT
integration publishes, to the application's URL with `?event=up|join|status|ack|txack|log|...`, with
the headers the application configured.

Signature (a Loraless addition), so receivers can tell our calls from anyone else's:

    X-Loraless-Timestamp: <Unix time in whole seconds, decimal>
    X-Loraless-Signature: sha256=<lower-case hex HMAC-SHA256(key=secret, msg=timestamp + "." + body)>

`secret` is the application's webhook secret as UTF-8 bytes and `body` the exact bytes received. To
verify: recompute the HMAC over the raw body, compare in constant time, and reject a timestamp more than
five minutes from your clock (that stops replays of a captured request). `verify()` does all three.
Each retry is signed afresh, so its timestamp is new; the event's `deduplicationId` stays the same.

Only http and https, no proxies, no redirects (a 3xx is a failure). The URL may not resolve to a
loopback, private, link-local or otherwise non-public address (IPv4 inside IPv6 included: mapped, NAT64
64:ff9b::/96, IPv4-compatible ::a.b.c.d, 6to4), checked on the address actually connected to, so DNS
cannot swap it after the check; an operator setting allows private receivers (WEBHOOK_ALLOW_PRIVATE_
NETWORKS). Headers that make up the request itself (`Host`, `Content-Length`, ...) are never taken from
the application's configuration.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import ipaddress
import json
import os
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from functions.appserver.models import Application
from functions.shared import envelope

SIGNATURE_HEADER = "X-Loraless-Signature"
TIMESTAMP_HEADER = "X-Loraless-Timestamp"
TOLERANCE_S = 300
USER_AGENT = "loraless-webhook/1"


class DeliveryError(Exception):
    """The receiver did not take the event: connection failure, timeout, refused address or non-2xx.

    The message names the host and the status, never the secret, the headers or the query string.
    """

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def _private_allowed_by_default() -> bool:
    """Private addresses are refused, on AWS Lambda and in the local cloud alike, unless the operator
    allows them (WEBHOOK_ALLOW_PRIVATE_NETWORKS=true; `make run --allow-private-webhooks`)."""
    return os.environ.get("WEBHOOK_ALLOW_PRIVATE_NETWORKS", "").lower() in ("1", "true", "yes")


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def signature_headers(secret: str, body: bytes, *, now: float | None = None) -> dict[str, str]:
    timestamp = int(time.time() if now is None else now)
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: sign(secret, timestamp, body)}


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance_s: int = TOLERANCE_S,
    now: float | None = None,
) -> bool:
    """True when `body` was signed with `secret` within `tolerance_s` of now (header names any case)."""
    lower = {k.lower(): v for k, v in headers.items()}
    signature = lower.get(SIGNATURE_HEADER.lower(), "")
    try:
        timestamp = int(lower.get(TIMESTAMP_HEADER.lower(), ""))
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance_s:
        return False
    return hmac.compare_digest(signature, sign(secret, timestamp, body))


def event_url(url: str, event_type: str) -> str:
    """The URL with `event=<type>` added to whatever query it already has."""
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    query = [(k, v) for k, v in query if k != "event"] + [("event", event_type)]
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052 §2.1: the well-known prefix
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # RFC 4291 §2.5.5.1 (deprecated, still routed by some)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, NAT64, IPv4-compatible, 6to4), which is where a
    translator or tunnel actually delivers it."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64 or ip in _IPV4_COMPATIBLE:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.sixtofour


def _public(address: str) -> bool:
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            ip = embedded
    return ip.is_global and not ip.is_multicast


def _connect(
    address: tuple[str, int],
    timeout: float | None = None,
    source_address: tuple[str, int] | None = None,
    *,
    allow_private: bool,
) -> socket.socket:
    """socket.create_connection, but to vetted addresses only: every resolved address is checked."""
    host, port = address
    if allow_private:
        return socket.create_connection(address, timeout, source_address)
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    refused = [info for info in infos if not _public(str(info[4][0]))]
    if refused or not infos:
        raise DeliveryError(f"{host} resolves to a non-public address; refused")
    last: OSError | None = None
    for family, kind, proto, _, sockaddr in infos:
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            sock.close()
            last = exc
    raise last or OSError(f"cannot connect to {host}")


def _guarded(cls: type[http.client.HTTPConnection], allow_private: bool) -> Callable[..., Any]:
    def make(host: str, **kwargs: Any) -> http.client.HTTPConnection:
        connection = cls(host, **kwargs)
        connection._create_connection = partial(_connect, allow_private=allow_private)  # type: ignore[attr-defined]
        return connection

    return make


class _HTTP(urllib.request.HTTPHandler):
    def __init__(self, allow_private: bool) -> None:
        super().__init__()
        self.allow_private = allow_private

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_guarded(http.client.HTTPConnection, self.allow_private), req)


class _HTTPS(urllib.request.HTTPSHandler):
    def __init__(self, allow_private: bool) -> None:
        super().__init__()
        self.allow_private = allow_private

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(
            _guarded(http.client.HTTPSConnection, self.allow_private),
            req,
            context=self._context,  # type: ignore[attr-defined]
        )


def _opener(allow_private: bool) -> urllib.request.OpenerDirector:
    """Only our two handlers: no proxies from the environment, no redirects, no file:// or ftp://."""
    opener = urllib.request.OpenerDirector()
    opener.add_handler(_HTTP(allow_private))
    opener.add_handler(_HTTPS(allow_private))
    return opener


def deliver(
    url: str,
    headers: Mapping[str, str],
    secret: str,
    event_type: str,
    body: bytes,
    *,
    timeout: float = 5,
    allow_private: bool | None = None,
) -> int:
    """POST one event; returns the receiver's 2xx status, raises DeliveryError otherwise."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or "?"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DeliveryError(f"webhook URL must be http or https with a host, not {parts.scheme!r}")
    all_headers = {
        **{str(k): str(v) for k, v in headers.items() if str(k).lower() not in RESERVED_HEADERS},
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        **(signature_headers(secret, body) if secret else {}),  # no secret configured: unsigned
    }
    request = urllib.request.Request(
        event_url(url, event_type), data=body, headers=all_headers, method="POST"
    )
    private = _private_allowed_by_default() if allow_private is None else allow_private
    try:
        with _opener(private).open(request, timeout=timeout) as response:
            status = int(response.status)
            response.read(64 * 1024)  # let the receiver finish; the body itself is not used
    except DeliveryError:
        raise
    except (OSError, http.client.HTTPException, ValueError) as exc:  # URLError and timeouts are OSError
        reason = getattr(exc, "reason", None) or exc
        raise DeliveryError(f"POST to {host} failed: {type(exc).__name__}: {reason}") from None
    if not 200 <= status < 300:
        raise DeliveryError(f"POST to {host} answered {status}", status=status)
    return status


@dataclass(frozen=True)
class Integration:
    """An application's HTTP integration with its secret opened (keep it out of logs and reprs)."""

    url: str
    headers: dict[str, str]
    secret: str

    def __repr__(self) -> str:
        return f"Integration(url=<{urllib.parse.urlsplit(self.url).hostname}>, headers=<{len(self.headers)}>)"


# Headers the request itself is made of, or that carry our signature: an application may not set them
# (a `Host` of its choosing would reach another virtual host behind the receiver's address).
RESERVED_HEADERS = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "content-type", "user-agent", "te",
     "upgrade", "proxy-authorization", "expect", "keep-alive", "trailer",
     SIGNATURE_HEADER.lower(), TIMESTAMP_HEADER.lower()}
)  # fmt: skip
_TOKEN = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def checked_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Header names as RFC 9110 §5.1 tokens, values without line breaks, none of RESERVED_HEADERS."""
    for name, value in headers.items():
        if not name or not set(name) <= _TOKEN:
            raise ValueError(f"{name!r} is not a header name")
        if name.lower() in RESERVED_HEADERS:
            raise ValueError(f"the {name} header is set by the integration itself")
        if any(c in value for c in "\r\n\0"):
            raise ValueError(f"the {name} header's value holds a line break")
    return dict(headers)


def seal_headers(application_id: str, headers: Mapping[str, str]) -> dict[str, Any]:
    """What `http_integration` keeps of the headers: their values sealed (they often hold credentials,
    such as `Authorization`), their names in clear so the API can say which are set."""
    checked = checked_headers(headers)
    if not checked:
        return {"header_names": []}
    sealed = envelope.seal({"headers": json.dumps(checked)}, context=f"{application_id}#headers")
    return {"sealed_headers": base64.b64encode(sealed).decode(), "header_names": sorted(checked)}


def header_names(config: Mapping[str, Any]) -> list[str]:
    """Which headers an integration sets (also for one stored before headers were sealed)."""
    if "header_names" in config:
        return [str(n) for n in config["header_names"]]
    return sorted(str(n) for n in (config.get("headers") or {}))


def _open_headers(application_id: str, config: Mapping[str, Any]) -> dict[str, str]:
    sealed = config.get("sealed_headers")
    if sealed:
        opened = envelope.open_sealed(base64.b64decode(sealed), context=f"{application_id}#headers")
        headers = json.loads(opened["headers"])
    else:
        headers = config.get("headers") or {}  # stored before headers were sealed
    return {str(k): str(v) for k, v in headers.items() if str(k).lower() not in RESERVED_HEADERS}


def seal_secret(application_id: str, secret: str) -> str:
    """What `Application.http_integration["secret"]` holds: base64 of an envelope bound to the app."""
    return base64.b64encode(envelope.seal({"secret": secret}, context=application_id)).decode()


def load_integration(application_id: str) -> Integration | None:
    """The application's integration, or None when it has none (or the application is gone)."""
    try:
        application = Application.get(application_id)
    except Application.DoesNotExist:
        return None
    config = application.http_integration or {}
    if not config.get("url"):
        return None
    sealed = config.get("secret")
    secret = (
        envelope.open_sealed(base64.b64decode(sealed), context=application_id)["secret"] if sealed else ""
    )
    return Integration(url=str(config["url"]), headers=_open_headers(application_id, config), secret=secret)


def body_bytes(body: Any) -> bytes:
    """The event as sent: JSON text is sent as is, an object is serialized compactly."""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    return json.dumps(body, separators=(",", ":")).encode()


def dispatch(application_id: str, event_type: str, body: Any, *, timeout: float = 5) -> int | None:
    """Deliver one event to the application's webhook; the receiver's status, or None without one.

    Raises DeliveryError when the receiver did not take it, so the caller can retry.
    """
    integration = load_integration(application_id)
    if integration is None:
        return None
    return deliver(
        integration.url,
        integration.headers,
        integration.secret,
        event_type,
        body_bytes(body),
        timeout=timeout,
    )

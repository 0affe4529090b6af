"""Signature Version 4 checked on the local AWS endpoints, as AWS checks it: the request must be signed
with the local cloud's own credentials (made once, kept in the data directory, handed to the functions
as their AWS credentials), for this region, within 15 minutes of now. Without it anyone on the machine
could invoke a function or have a certificate signed.

The signature is recomputed with botocore's own signer over the headers the caller says it signed.
"""

from __future__ import annotations

import datetime as dt
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass

from botocore.auth import SIGV4_TIMESTAMP, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

MAX_SKEW = dt.timedelta(minutes=15)
_AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)"
    r"/aws4_request, ?SignedHeaders=(?P<signed>[a-z0-9;\-]+), ?Signature=(?P<signature>[0-9a-f]{64})$"
)


class Unauthorized(Exception):
    """The request is not signed with the local cloud's credentials (the message says why)."""


@dataclass(frozen=True)
class LocalCredentials:
    access_key_id: str
    secret_access_key: str

    def __repr__(self) -> str:
        return f"LocalCredentials({self.access_key_id}, <secret>)"


def verify(
    credentials: LocalCredentials,
    method: str,
    raw_path: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: dt.datetime | None = None,
) -> None:
    """Return if the request carries a valid SigV4 signature by `credentials`, else raise Unauthorized."""
    lower = {k.lower(): v for k, v in headers.items()}
    match = _AUTHORIZATION.match(lower.get("authorization", "").strip())
    if match is None:
        raise Unauthorized("a SigV4-signed request is required")
    if not hmac.compare_digest(match["key"], credentials.access_key_id):
        raise Unauthorized("unknown access key")
    stamp = lower.get("x-amz-date", "")
    try:
        when = dt.datetime.strptime(stamp, SIGV4_TIMESTAMP).replace(tzinfo=dt.UTC)
    except ValueError:
        raise Unauthorized("no valid X-Amz-Date") from None
    if abs((now or dt.datetime.now(dt.UTC)) - when) > MAX_SKEW or stamp[:8] != match["date"]:
        raise Unauthorized("the signature is too old or from the future")
    signed = match["signed"].split(";")
    if "host" not in signed:
        raise Unauthorized("the Host header must be signed")
    request = AWSRequest(
        method=method,
        url=f"http://{lower['host']}{raw_path}",
        headers={name: lower.get(name, "") for name in signed},
        data=body,
    )
    request.context["timestamp"] = stamp
    signer = SigV4Auth(
        Credentials(credentials.access_key_id, credentials.secret_access_key),
        match["service"],
        match["region"],
    )
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    if not hmac.compare_digest(expected, match["signature"]):
        raise Unauthorized("the signature does not match")

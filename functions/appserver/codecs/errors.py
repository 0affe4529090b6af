"""Codec errors, one module: what went wrong and where, in words a device-profile author can act on."""

from __future__ import annotations


class CodecError(Exception):
    """A payload could not be decoded or an object could not be encoded."""


class CayenneLPPError(CodecError):
    """Bytes that are not a valid CayenneLPP payload, or an object CayenneLPP cannot carry."""


class ScriptError(CodecError):
    """A JavaScript codec failed: syntax error, exception, time or memory limit, or a malformed result.

    `reason` is one of "syntax", "exception", "time_limit", "memory_limit", "result", "engine".
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason

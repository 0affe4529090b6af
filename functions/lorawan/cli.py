"""`loraless`: decode frames and derive keys from the command line, like lora-packet's decoder.

    loraless frame decode HEX|BASE64 [--nwk-s-key K] [--app-s-key K] [--app-key K] [--nwk-key K]
                                     [--lorawan 1.0|1.1] [--f-cnt N] [--join-eui E --dev-nonce N]
    loraless keys derive --lorawan 1.0|1.1 ...

Each prints one JSON object. Bad input prints one line on stderr and exits with status 2.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from functions.lorawan.errors import LoRaWANError
from functions.lorawan.frame_view import FrameKeys, frame_view
from functions.lorawan.keys import (
    join_server_keys,
    session_keys_1_0,
    session_keys_1_1,
    session_keys_1_1_opt_neg_unset,
)
from functions.lorawan.types import EUI64, AES128Key, NetID

EXIT_BAD_INPUT = 2


class UsageError(Exception):
    """Bad command-line input: reported on one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _frame_bytes(text: str) -> bytes:
    """Hex (with or without spaces) or base64, as gateways and lora-packet users paste frames."""
    compact = "".join(text.split())
    try:
        return bytes.fromhex(compact)
    except ValueError:
        pass
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise UsageError(f"frame is neither hex nor base64: {text[:40]!r}") from exc


def _key(text: str | None, name: str) -> AES128Key | None:
    if text is None:
        return None
    try:
        return AES128Key.parse(text)
    except LoRaWANError as exc:
        raise UsageError(f"--{name}: {exc}") from exc


def _int(text: str) -> int:
    """Decimal, or hex with 0x (nonces are often written in hex)."""
    return int(text, 0)


def decode_frame(args: argparse.Namespace) -> dict[str, Any]:
    """The JSON object `loraless frame decode` prints: the protocol core's frame view."""
    keys = FrameKeys(
        lorawan=args.lorawan,
        nwk_s_key=_key(args.nwk_s_key, "nwk-s-key"),
        app_s_key=_key(args.app_s_key, "app-s-key"),
        app_key=_key(args.app_key, "app-key"),
        nwk_key=_key(args.nwk_key, "nwk-key"),
        f_cnt=args.f_cnt,
        join_eui=EUI64.parse(args.join_eui) if args.join_eui else None,
        dev_eui=EUI64.parse(args.dev_eui) if args.dev_eui else None,
        dev_nonce=args.dev_nonce,
    )
    return frame_view(_frame_bytes(args.frame), keys)


def derive_keys(args: argparse.Namespace) -> dict[str, Any]:
    """The JSON object `loraless keys derive` prints (keys in hex: this is what the user asked to see)."""
    if args.lorawan == "1.0":
        app_key = _key(args.app_key, "app-key")
        if app_key is None or args.net_id is None:
            raise UsageError("LoRaWAN 1.0 needs --app-key, --join-nonce, --net-id and --dev-nonce")
        keys = session_keys_1_0(app_key, args.join_nonce, NetID.parse(args.net_id), args.dev_nonce)
        return {"lorawan": "1.0", "nwk_s_key": keys.nwk_s_key.hex(), "app_s_key": keys.app_s_key.hex()}
    nwk_key = _key(args.nwk_key, "nwk-key")
    if nwk_key is None:
        raise UsageError("LoRaWAN 1.1 needs --nwk-key")
    if args.opt_neg_unset:
        if args.net_id is None:
            raise UsageError("--opt-neg-unset derives the 1.0 way and needs --net-id")
        keys11 = session_keys_1_1_opt_neg_unset(
            nwk_key, args.join_nonce, NetID.parse(args.net_id), args.dev_nonce
        )
    else:
        app_key = _key(args.app_key, "app-key")
        if app_key is None or args.join_eui is None:
            raise UsageError("LoRaWAN 1.1 needs --app-key and --join-eui (or --opt-neg-unset with --net-id)")
        keys11 = session_keys_1_1(
            nwk_key, app_key, args.join_nonce, EUI64.parse(args.join_eui), args.dev_nonce
        )
    out: dict[str, Any] = {
        "lorawan": "1.1",
        "f_nwk_s_int_key": keys11.f_nwk_s_int_key.hex(),
        "s_nwk_s_int_key": keys11.s_nwk_s_int_key.hex(),
        "nwk_s_enc_key": keys11.nwk_s_enc_key.hex(),
        "app_s_key": keys11.app_s_key.hex(),
    }
    if args.dev_eui:
        js = join_server_keys(nwk_key, EUI64.parse(args.dev_eui))
        out |= {"js_int_key": js.js_int_key.hex(), "js_enc_key": js.js_enc_key.hex()}
    return out


def parser() -> argparse.ArgumentParser:
    root = _Parser(prog="loraless", description="LoRaWAN frames and keys (Loraless protocol core).")
    commands = root.add_subparsers(dest="command", required=True, parser_class=_Parser)
    frame = commands.add_parser("frame", help="frames").add_subparsers(
        dest="action", required=True, parser_class=_Parser
    )
    decode = frame.add_parser("decode", help="decode a PHYPayload (hex or base64) into JSON")
    decode.add_argument("frame")
    keys = commands.add_parser("keys", help="keys").add_subparsers(
        dest="action", required=True, parser_class=_Parser
    )
    derive = keys.add_parser("derive", help="derive session keys from root keys and join nonces")
    for sub in (decode, derive):
        sub.add_argument("--lorawan", choices=("1.0", "1.1"), default="1.0")
        sub.add_argument("--app-key")
        sub.add_argument("--nwk-key")
        sub.add_argument("--join-eui")
        sub.add_argument("--dev-eui")
    decode.add_argument("--nwk-s-key", help="NwkSKey (1.0), or NwkSEncKey/SNwkSIntKey (1.1)")
    decode.add_argument("--app-s-key")
    decode.add_argument("--f-cnt", type=_int, help="the full 32-bit counter, when above 65535")
    decode.add_argument("--dev-nonce", type=_int, help="for a 1.1 JoinAccept MIC")
    derive.add_argument("--join-nonce", type=_int, required=True)
    derive.add_argument("--dev-nonce", type=_int, required=True)
    derive.add_argument("--net-id")
    derive.add_argument("--opt-neg-unset", action="store_true", help="1.1 device on a 1.0 network")
    return root


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = parser().parse_args(argv)
        result = decode_frame(args) if args.command == "frame" else derive_keys(args)
    except (UsageError, LoRaWANError, ValueError) as exc:
        print(f"loraless: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

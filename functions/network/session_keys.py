"""A session's keys, packed and sealed in the session item (`DeviceSession.net_keys`): what the network
server and the application server's ABP activation (through `functions/network/service.py`) both write,
apart from the store so that sealing keys reaches no table."""

from __future__ import annotations

import json
from collections.abc import Mapping

from functions.lorawan.types import AES128Key
from functions.network.models import DeviceSession
from functions.shared import envelope

NETWORK_KEYS = ("f_nwk_s_int_key", "s_nwk_s_int_key", "nwk_s_enc_key")
_ONE_NETWORK_KEY, _WITH_APP_S_KEY = 0x01, 0x02  # the packed keys' first byte (below "{": JSON is told apart)


def seal_network_keys(keys: Mapping[str, str | AES128Key], *, dev_eui: str) -> bytes:
    """The session's keys packed (a flags byte, then 16 bytes a key: one network key for 1.0's NwkSKey,
    three for 1.1, the AppSKey when known) and sealed as a compact envelope bound to the DevEUI: 33 or 65
    bytes of plaintext where JSON of hex took about 210, in an item written on every uplink."""
    parsed = {k: AES128Key.parse(str(v)) if not isinstance(v, AES128Key) else v for k, v in keys.items()}
    network = [parsed[k].value for k in NETWORK_KEYS]
    flags = _ONE_NETWORK_KEY if len(set(network)) == 1 else 0
    packed = network[:1] if flags else network
    if "app_s_key" in parsed:
        flags |= _WITH_APP_S_KEY
        packed = [*packed, parsed["app_s_key"].value]
    return envelope.seal_bytes(bytes([flags]) + b"".join(packed), context=dev_eui)


def session_keys(session: DeviceSession) -> dict[str, AES128Key]:
    """The session's network keys (and AppSKey when sealed with them), opened from their envelope (bound to
    the DevEUI): packed (`seal_network_keys`), or JSON of hex as sessions sealed before were."""
    plain = envelope.open_bytes(session.net_keys, context=session.dev_eui)
    if plain[:1] == b"{":
        return {k: AES128Key.parse(v) for k, v in json.loads(plain).items()}
    flags, body = plain[0], plain[1:]
    keys = [body[i : i + 16] for i in range(0, len(body), 16)]
    network = keys[:1] * 3 if flags & _ONE_NETWORK_KEY else keys[:3]
    opened = {name: AES128Key(key) for name, key in zip(NETWORK_KEYS, network, strict=True)}
    if flags & _WITH_APP_S_KEY:
        opened["app_s_key"] = AES128Key(keys[-1])
    return opened


def reseal_if_old(session: DeviceSession, keys: Mapping[str, AES128Key]) -> None:
    """A session sealed before the compact envelope gets it at its next save (the keys it already opened),
    so its item shrinks under 1 KB without waiting for a join."""
    if not envelope.is_compact(session.net_keys):
        session.net_keys = seal_network_keys(keys, dev_eui=session.dev_eui)

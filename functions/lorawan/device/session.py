"""What an end-device keeps after activation: address, session keys and frame counters."""

from __future__ import annotations

from dataclasses import dataclass

from functions.lorawan.keys import SessionKeys10, SessionKeys11
from functions.lorawan.types import AES128Key, DevAddr


@dataclass
class EndDeviceSession:
    """One session. For 1.0.x the three network keys are the NwkSKey and AFCntDown is the one FCntDown
    (1.0 has a single downlink counter); `lorawan_1_1` selects the 1.1 MIC, FOpts and counter rules."""

    dev_addr: DevAddr
    f_nwk_s_int_key: AES128Key
    s_nwk_s_int_key: AES128Key
    nwk_s_enc_key: AES128Key
    app_s_key: AES128Key
    lorawan_1_1: bool = False
    f_cnt_up: int = 0
    n_f_cnt_down: int = 0
    a_f_cnt_down: int = 0
    fresh_down: bool = True  # no downlink seen yet in this session, so any counter is accepted

    @classmethod
    def from_1_0(cls, dev_addr: DevAddr, keys: SessionKeys10) -> EndDeviceSession:
        return cls(dev_addr, keys.nwk_s_key, keys.nwk_s_key, keys.nwk_s_key, keys.app_s_key)

    @classmethod
    def from_1_1(
        cls, dev_addr: DevAddr, keys: SessionKeys11, *, lorawan_1_1: bool = True
    ) -> EndDeviceSession:
        return cls(
            dev_addr,
            keys.f_nwk_s_int_key,
            keys.s_nwk_s_int_key,
            keys.nwk_s_enc_key,
            keys.app_s_key,
            lorawan_1_1,
        )

    @property
    def nwk_s_key(self) -> AES128Key:
        """The 1.0 name of the single network session key."""
        return self.f_nwk_s_int_key

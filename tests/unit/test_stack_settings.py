"""Deploy settings from `cdk.json` context (`infra/app.py`): the timing settings take 0 as a value."""

from __future__ import annotations

import aws_cdk as cdk
import pytest

from infra.app import settings_from


def test_timing_settings_default_take_zero_and_refuse_what_is_not_milliseconds() -> None:
    defaults = settings_from(cdk.App(context={}))
    assert (defaults.dedup_window_ms, defaults.downlink_margin_ms) == (200, 500)
    zero = settings_from(cdk.App(context={"dedup_window_ms": 0, "downlink_margin_ms": "800"}))
    assert (zero.dedup_window_ms, zero.downlink_margin_ms) == (0, 800)  # 0: no window, not the default
    for bad in ("fast", "-5", "1.5"):
        with pytest.raises(ValueError, match="dedup_window_ms"):
            settings_from(cdk.App(context={"dedup_window_ms": bad}))

"""Hotline orders: decoding on the ticket side, masking, and the duplicate index."""

from __future__ import annotations

import math

import pytest

from alerts.hotline import DuplicateIndex, DuplicateRule, HotlineOrder, mask_personal

M_LAT = 1 / 111_320  # one metre of latitude in degrees


def rule_for(code: str) -> DuplicateRule | None:
    return None if code == "heating" else DuplicateRule(radius_m=30, window=3 * 86400)


def order(oid: str, code: str = "road_damage", ts: int = 0, dy_m: float = 0.0,
          dx_m: float = 0.0, **kw: object) -> HotlineOrder:  # fmt: skip
    lat = 31.23 + dy_m * M_LAT
    lon = 121.47 + dx_m * M_LAT / math.cos(math.radians(31.23))
    return HotlineOrder(oid, code, ts, lat, lon, "310106003001001", **kw)  # type: ignore[arg-type]


def test_nearby_same_service_within_the_window_is_a_duplicate() -> None:
    idx = DuplicateIndex(rule_for)
    assert idx.add(order("a", ts=0))
    assert idx.find(order("b", ts=3600, dy_m=20)) == "a"
    assert idx.find(order("c", ts=3600, dy_m=21, dx_m=21)) == "a"  # 29.7 m: inside
    assert idx.find(order("d", ts=3600, dy_m=22, dx_m=22)) is None  # 31.1 m: outside
    assert idx.find(order("e", code="street_lights", ts=3600)) is None
    assert idx.find(order("f", ts=3 * 86400 + 1)) is None  # too long after
    assert idx.find(order("g", ts=-10)) is None  # before the root: not a duplicate of it


def test_the_nearest_open_root_wins_and_closed_roots_absorb_nothing() -> None:
    idx = DuplicateIndex(rule_for)
    idx.add(order("far", ts=0, dy_m=25))
    idx.add(order("near", ts=10, dy_m=5))
    assert idx.find(order("x", ts=100)) == "near"
    idx.remove("near")
    assert idx.find(order("x", ts=100)) == "far"
    idx.remove("far")
    assert idx.find(order("x", ts=100)) is None and len(idx) == 0


def test_roots_across_cell_borders_are_found() -> None:
    idx = DuplicateIndex(rule_for)
    idx.add(order("a", ts=0))
    for dy, dx in [(29, 0), (-29, 0), (0, 29), (0, -29), (20, 20), (-20, -20)]:
        assert idx.find(order("b", ts=1, dy_m=dy, dx_m=dx)) == "a", (dy, dx)


def test_unlocated_orders_and_per_household_services_never_merge() -> None:
    idx = DuplicateIndex(rule_for)
    assert not idx.add(HotlineOrder("u", "road_damage", 0, None, None, "310106003001001"))
    assert not idx.add(order("h", code="heating"))
    assert idx.find(order("h2", code="heating", ts=5)) is None
    assert idx.find(HotlineOrder("u2", "road_damage", 5, None, None, "310106003001001")) is None


def test_expire_drops_roots_past_their_window() -> None:
    idx = DuplicateIndex(rule_for)
    idx.add(order("old", ts=0))
    idx.add(order("new", ts=2 * 86400, dy_m=500))
    assert idx.expire(3 * 86400 + 10) == 1
    assert len(idx) == 1


def test_wire_record_with_category_synonym_and_iso_time() -> None:
    o = HotlineOrder.from_dict({
        "service_request_id": "12345-2026-000001", "category": "water_outage",
        "requested_datetime": "2026-03-01T14:05:00+08:00", "lat": "31.22", "long": 121.45,
        "description": "没水了 请回电 13812345678", "phone": "13812345678", "name": "张三",
        "channel": "phone",
    })  # fmt: skip
    assert o.service_code == "water_outage"
    assert o.ts == 1772345100
    assert o.lat == pytest.approx(31.22)
    assert "13812345678" not in o.description and "<phone>" in o.description
    assert "张三" not in str(o.to_dict()) and "phone" not in o.to_dict()
    with pytest.raises(ValueError, match="service_code"):
        HotlineOrder.from_dict({"service_request_id": "x", "ts": 1})
    with pytest.raises(ValueError, match="no zone"):
        HotlineOrder.from_dict(
            {
                "service_request_id": "x",
                "service_code": "other",
                "requested_datetime": "2026-03-01T14:05:00",
            }
        )


def test_mask_personal_masks_phones_and_id_numbers_only() -> None:
    """The decoder's placeholders, never a partial number that keeps most of its digits."""
    text = "电话13912345678, 身份证 31010619800101123X, 门牌 1380 号, 水表 12345678901234"
    masked = mask_personal(text)
    assert masked.startswith("电话<phone>, 身份证 <id-number>,"), masked
    assert "5678" not in masked.split("门牌")[0] and "*" not in masked
    assert "1380 号" in masked and "12345678901234" in masked
    fullwidth_id = "３１０１０６１９８００１０１１２３Ｘ"
    other = mask_personal(f"回电 +86 139-1234-5678 或 021-6234 5678, 证件 {fullwidth_id}")
    assert not any(d in other for d in ("5678", "1234", "310106")), other

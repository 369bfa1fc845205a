"""Personal data never leaves decoding: phone and ID numbers masked everywhere, names dropped.

The property tests plant random (well-formed, fake) phone numbers, identity numbers and names
in every field of citizen records and sensor readings -- valid records and broken ones --
run them through the decoders and the dead-letter sink, and search everything written.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows.deadletters import DeadLetterWriter
from flows.decode import ChannelDecoder, SensorDecoder, chunk_of_lines
from flows.decode.batches import ChannelBatch, SensorBatch
from flows.decode.chunks import RawChunk
from flows.decode.reasons import DeadLetters
from flows.privacy import (
    ID_MASK,
    PHONE_MASK,
    mask_raw_csv,
    mask_raw_json,
    mask_record,
    mask_text,
)

T0 = "2026-03-01T14:05:00+08:00"

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞"
FILLER = ["停水", "路面", "噪声", "请尽快处理", "谢谢", "again", "no water", "楼道", " ", "。"]


@st.composite
def mobiles(draw: st.DrawFn) -> str:
    digits = (
        "1" + draw(st.sampled_from("3456789")) + draw(st.text("0123456789", min_size=9, max_size=9))
    )
    style = draw(st.sampled_from(["plain", "dash", "space", "+86", "0086"]))
    if style == "dash":
        return f"{digits[:3]}-{digits[3:7]}-{digits[7:]}"
    if style == "space":
        return f"{digits[:3]} {digits[3:7]} {digits[7:]}"
    if style == "+86":
        return f"+86 {digits}"
    if style == "0086":
        return f"0086{digits}"
    return digits


@st.composite
def landlines(draw: st.DrawFn) -> str:
    area = draw(st.sampled_from(["021", "010", "0571", "0755"]))
    local = draw(st.sampled_from("23456789")) + draw(st.text("0123456789", min_size=7, max_size=7))
    return draw(st.sampled_from([f"{area}-{local}", f"({area}){local}", f"{area}{local}"]))


@st.composite
def id_numbers(draw: st.DrawFn) -> str:
    region = draw(st.integers(110000, 659999))
    year = draw(st.integers(1930, 2020))
    month = draw(st.integers(1, 12))
    day = draw(st.integers(1, 28))
    seq = draw(st.integers(0, 999))
    if draw(st.booleans()):
        check = draw(st.sampled_from("0123456789X"))
        return f"{region}{year}{month:02d}{day:02d}{seq:03d}{check}"
    return f"{region}{year % 100:02d}{month:02d}{day:02d}{seq:03d}"  # the old 15-digit form


names = st.builds(
    lambda s, g: s + g,
    st.sampled_from(SURNAMES),
    st.text(GIVEN, min_size=1, max_size=2),
)
secrets = st.one_of(mobiles(), landlines(), id_numbers())


def digits_only(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit() or ch in "Xx")


def assert_clean(text: str, planted: list[str], planted_names: list[str]) -> None:
    for secret in planted:
        assert secret not in text, f"{secret!r} leaked into {text!r}"
        core = digits_only(secret).lstrip("+")
        core = core[2:] if len(core) == 13 and core.startswith("86") else core
        core = core[4:] if core.startswith("0086") else core
        assert core not in text, f"{core!r} leaked into {text!r}"
    for name in planted_names:
        assert name not in text, f"name {name!r} leaked into {text!r}"


# ---------------------------------------------------------------- mask_text
def test_examples() -> None:
    text = "电话13812345678，身份证110101199003071234，座机021-62345678，工单12345-2026-000001"
    masked = mask_text(text)
    assert "13812345678" not in masked and "110101199003071234" not in masked
    assert "62345678" not in masked
    assert masked.count(PHONE_MASK) == 2 and masked.count(ID_MASK) == 1
    assert "12345-2026-000001" in masked  # an order number is not a phone number
    assert mask_text("AQ-310106-000123 at 2026-03-01T14:05:00+08:00") == (
        "AQ-310106-000123 at 2026-03-01T14:05:00+08:00"
    )
    assert mask_text("１３８１２３４５６７８") == PHONE_MASK  # full-width digits


@settings(max_examples=300, deadline=None)
@given(
    secret=secrets,
    before=st.sampled_from([*FILLER, "", "tel:", "号码"]),
    after=st.sampled_from([*FILLER, "", "号", "x"]),
)
def test_planted_numbers_never_survive(secret: str, before: str, after: str) -> None:
    assert_clean(mask_text(before + secret + after), [secret], [])


def test_names_are_dropped_and_blanked_elsewhere() -> None:
    record = {
        "name": "张三",
        "caller_name": "李四",
        "description": "张三说李四家停水",
        "nested": {"contact": "王五", "note": "王五在家"},
    }
    masked = mask_record(record)
    text = json.dumps(masked, ensure_ascii=False)
    for name in ("张三", "李四", "王五"):
        assert name not in text
    assert "name" not in masked and "caller_name" not in masked
    assert "contact" not in masked["nested"]


def test_broken_json_and_csv_lines_are_masked_too() -> None:
    raw = '{"service_request_id": "1", "name": "张三", "description": "张三 13812345678'
    out = mask_raw_json(raw)
    assert "张三" not in out and "13812345678" not in out
    row = "1,张三,张三报修 13812345678"
    out = mask_raw_csv(row, ["id", "caller_name", "description"])
    assert "张三" not in out and "13812345678" not in out


# ---------------------------------------------------------------- through the decoders
def _batch_text(batch: ChannelBatch | SensorBatch) -> str:
    if isinstance(batch, SensorBatch):
        return ""  # numbers only: nothing to leak
    parts = [*batch.record_id, *batch.text, *(v for col in batch.extra.values() for v in col)]
    return "\n".join(parts)


def _letters_text(letters: DeadLetters, tmp_path: Path) -> str:
    path = tmp_path / "dead_letters.ndjson"
    path.unlink(missing_ok=True)
    with DeadLetterWriter(path) as writer:
        writer.write(letters)
    return path.read_text("utf-8") if path.exists() else ""


HOTLINE_KEYS = [
    "service_request_id",
    "service_code",
    "description",
    "requested_datetime",
    "address",
    "channel",
    "status",
    "phone",
    "name",
]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    planted=st.lists(st.tuples(st.sampled_from(HOTLINE_KEYS), secrets), min_size=1, max_size=6),
    name=names,
    broken=st.booleans(),
    as_csv=st.booleans(),
)
def test_hotline_secrets_never_reach_any_output(
    tmp_path: Path, planted: list[tuple[str, str]], name: str, broken: bool, as_csv: bool
) -> None:
    record: dict[str, object] = {
        "service_request_id": "12345-2026-000001",
        "service_code": "water_outage",
        "description": f"{name}报修",
        "requested_datetime": T0,
        "address": f"{name}家",
        "channel": "phone",
        "status": "open",
        "lat": 31.2,
        "long": 121.4,
        "phone": "",
        "name": name,
    }
    for key, secret in planted:
        record[key] = f"{record.get(key, '')} {secret} {name}".strip()
    secrets_in = [s for _, s in planted]
    good = dict(record)
    good["service_code"] = "water_outage"  # a valid copy next to the (maybe) broken one
    good["requested_datetime"] = T0
    good["service_request_id"] = "good-1"
    if as_csv:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        keys = [*HOTLINE_KEYS, "lat", "long"]
        writer.writerow([str(good[k]) for k in keys])
        row = [str(record[k]) for k in keys]
        writer.writerow(row[:-2] if broken else row)
        chunk = RawChunk("h.csv", 2, buf.getvalue().encode(), "csv", ",".join(keys).encode())
    else:
        bad_line = json.dumps(record, ensure_ascii=False)
        lines = [json.dumps(good, ensure_ascii=False), bad_line[:-7] if broken else bad_line]
        chunk = chunk_of_lines("h.ndjson", [line.encode() for line in lines])
    batch, letters = ChannelDecoder("hotline").decode(chunk)
    assert len(batch) + len(letters) + letters.counts["duplicate"] >= 1
    out = _batch_text(batch) + "\n" + _letters_text(letters, tmp_path)
    assert_clean(out, secrets_in, [name])


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(secret=secrets, name=names, where=st.sampled_from(["sensor_id", "ts", "note", "pm25"]))
def test_sensor_dead_letters_are_masked(tmp_path: Path, secret: str, name: str, where: str) -> None:
    class Registry:
        kinds = ("air_quality",)
        kind = np.array([0], dtype=np.int8)

        def lookup(self, ids: np.ndarray) -> np.ndarray:
            return np.array(
                [0 if str(v) in ("AQ-1", "b'AQ-1'") else -1 for v in np.asarray(ids).tolist()],
                dtype=np.int64,
            )

    record: dict[str, object] = {"sensor_id": "AQ-1", "ts": T0, "pm25": 1.0, "name": name}
    record[where] = f"{secret} {name}"
    line = json.dumps(record, ensure_ascii=False).encode()
    _batch, letters = SensorDecoder(Registry()).decode(chunk_of_lines("s.ndjson", [line]))
    assert len(letters) == 1
    assert_clean(_letters_text(letters, tmp_path), [secret], [name])


def test_checkpoints_keep_no_identity() -> None:
    line = json.dumps(
        {
            "checkpoint_id": "c1",
            "venue": "V-310106-0012",
            "ts": T0,
            "result": "normal",
            "person_name": "赵六",
            "id_card": "110101199003071234",
            "phone": "13912345678",
        },
        ensure_ascii=False,
    ).encode()
    batch, letters = ChannelDecoder("checkpoint").decode(chunk_of_lines("c.ndjson", [line]))
    assert len(batch) == 1 and len(letters) == 0
    text = _batch_text(batch)
    assert "赵六" not in text and "110101199003071234" not in text and "13912345678" not in text
    assert set(batch.extra) == {"venue", "result"}

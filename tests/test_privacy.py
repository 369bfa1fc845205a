"""Personal data never leaves decoding: phone and ID numbers masked everywhere, names dropped.

The property tests plant random (well-formed, fake) phone numbers, identity numbers and names
in every field of citizen records and sensor readings -- valid records and broken ones --
run them through the decoders and the dead-letter sink, and search everything written.
"""

from __future__ import annotations

import csv
import io
import json
import re

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from flows.deadletters import dead_letter_lines
from flows.decode import ChannelDecoder, SensorDecoder, chunk_of_lines
from flows.decode.batches import ChannelBatch, SensorBatch
from flows.decode.channels import CHANNELS
from flows.decode.chunks import RawChunk
from flows.decode.reasons import DeadLetters
from flows.privacy import (
    CARD_MASK,
    EMAIL_MASK,
    HANDLE_MASK,
    ID_MASK,
    NAME_MASK,
    PHONE_MASK,
    blank_names,
    is_personal_field,
    mask_raw_csv,
    mask_raw_json,
    mask_record,
    mask_text,
    nothing_to_mask,
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
    style = draw(
        st.sampled_from(["plain", "3-4-4", "3-3-5", "4-4-3", "digits", "+86", "0086", "(+86)"])
    )
    sep = draw(st.sampled_from(["-", " ", "  ", "\u3000", ".", "/", "\u2014", "\u2013", " - "]))
    if style == "3-4-4":
        return sep.join((digits[:3], digits[3:7], digits[7:]))
    if style == "3-3-5":
        return sep.join((digits[:3], digits[3:6], digits[6:]))
    if style == "4-4-3":
        return sep.join((digits[:4], digits[4:8], digits[8:]))
    if style == "digits":
        return " ".join(digits)
    if style == "+86":
        return f"+86 {digits}"
    if style == "0086":
        return f"0086{digits}"
    if style == "(+86)":
        return f"(+86){digits}"
    return digits


@st.composite
def landlines(draw: st.DrawFn) -> str:
    area = draw(st.sampled_from(["021", "010", "0571", "0755"]))
    local = draw(st.sampled_from("23456789")) + draw(st.text("0123456789", min_size=7, max_size=7))
    return draw(st.sampled_from([f"{area}-{local}", f"({area}){local}", f"{area}{local}"]))


@st.composite
def international(draw: st.DrawFn) -> str:
    """'+', a country code, then the subscriber's digits in groups, as people write them."""
    code = draw(st.sampled_from(["1", "44", "852", "886", "86", "81", "49"]))
    groups = draw(st.lists(st.text("0123456789", min_size=2, max_size=4), min_size=2, max_size=3))
    if len("".join(groups)) < 7:
        groups.append("1234")
    sep = draw(st.sampled_from([" ", "-", "."]))
    first = draw(st.sampled_from([groups[0], f"({groups[0]})"]))
    return f"+{code} " + sep.join([first, *groups[1:]])


@st.composite
def id_numbers(draw: st.DrawFn) -> str:
    region = draw(st.integers(110000, 659999))
    year = draw(st.integers(1930, 2020))
    month = draw(st.integers(1, 12))
    day = draw(st.integers(1, 28))
    seq = draw(st.integers(0, 999))
    if draw(st.booleans()):
        check = draw(st.sampled_from("0123456789X"))
        sep = draw(st.sampled_from(["", "", " ", "-"]))
        return f"{region}{sep}{year}{month:02d}{day:02d}{sep}{seq:03d}{check}"
    return f"{region}{year % 100:02d}{month:02d}{day:02d}{seq:03d}"  # the old 15-digit form


@st.composite
def documents(draw: st.DrawFn) -> str:
    """A Chinese passport or a Hong Kong identity card."""
    digits = draw(st.text("0123456789", min_size=8, max_size=8))
    if draw(st.booleans()):
        return draw(st.sampled_from("EG")) + digits
    return f"{draw(st.sampled_from('ACKZ'))}{digits[:6]}({digits[6]})"


def luhn_completed(digits: str) -> str:
    """`digits` with the check digit that makes the Luhn check hold, as every card's has."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return digits + str(-total % 10)


@st.composite
def cards(draw: st.DrawFn) -> str:
    """A payment card's number (UnionPay 62, Visa 4, Mastercard 5, Amex 37), typed in groups
    of four (Amex 4-6-5) or in one run."""
    prefix, length = draw(
        st.sampled_from([("62", 16), ("62", 19), ("4", 16), ("5", 16), ("37", 15)])
    )
    body = prefix + draw(st.text("0123456789", min_size=length - len(prefix) - 1, max_size=19))
    number = luhn_completed(body[: length - 1])
    sep = draw(st.sampled_from([" ", "-", ""]))
    if length == 15:
        return sep.join((number[:4], number[4:10], number[10:]))
    return sep.join(number[i : i + 4] for i in range(0, length, 4))


names = st.builds(
    lambda s, g: s + g,
    st.sampled_from(SURNAMES),
    st.text(GIVEN, min_size=1, max_size=2),
)
emails = st.builds(
    lambda user, host: f"{user}@{host}.example.com",
    st.text("abcdefghijklmnopqrstuvwxyz0123456789._", min_size=1, max_size=12).filter(
        lambda u: u[0].isalnum()
    ),
    st.text("abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8),
)
secrets = st.one_of(
    mobiles(), landlines(), international(), id_numbers(), documents(), cards(), emails
)


def digits_only(text: str) -> str:
    if "@" in text:
        return text  # an address leaks whole or not at all
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
    before=st.sampled_from([*FILLER, "", "tel:", "号码", "请联系 "]),
    after=st.sampled_from([*FILLER, "", "号", "x", "，谢谢"]),
)
def test_planted_numbers_never_survive(secret: str, before: str, after: str) -> None:
    # a passport number glued to letters is part of some other code, and is left alone
    glued = before[-1:].isalpha() or after[:1].isalpha()
    assume(not (re.fullmatch(r"[EG]\d{8}", secret) and glued))
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


def test_a_large_number_stays_a_number_unless_it_is_personal() -> None:
    """An epoch-ms timestamp was written back as text, being 10^10 or more; only a number
    that masking changes (a phone or identity number) becomes text."""
    record = {"ts": 1772386800000, "n": -99999999999, "callback": 13812345678}
    assert mask_record(record) == {"ts": 1772386800000, "n": -99999999999,
                                   "callback": "<phone>"}  # fmt: skip
    assert mask_raw_json('{"ts": 1772386800000}') == '{"ts":1772386800000}'
    # a phone number a spreadsheet exported as a float is one too; other floats stay
    record = {"a": 13812340108.0, "b": 1.381234011e10, "ts": 1772386800000.0, "x": 13812340108.5}
    assert mask_record(record) == {"a": PHONE_MASK, "b": PHONE_MASK,
                                   "ts": 1772386800000.0, "x": 13812340108.5}  # fmt: skip
    assert mask_raw_json('{"callback": 13812340108.0}') == '{"callback":"<phone>"}'


def test_keys_are_masked_too() -> None:
    """Data where a key goes (a phone number, an identity number, an e-mail address, a cued
    name, a declared contact value) reached dead letters verbatim: only values were masked.
    Two keys masked alike keep both values; a key that is a declared name stays, so that a
    caller named Long does not lose the position."""
    record = {
        "service_request_id": "1",
        "extra": {"13812340101": "callback", "139 1234 0101": "x"},
        "联系人：王小明 13812340102": "x",
        "310105198808081301": "id",
        "wang.xm@163.com": 1,
        "tel": "62345671",
        "note 62345671": 2,
        "name": "Long",
        "long": 121.4,
    }
    assert mask_record(record) == {
        "service_request_id": "1",
        "extra": {PHONE_MASK: "callback", f"{PHONE_MASK}#2": "x"},
        f"联系人：{NAME_MASK} {PHONE_MASK}": "x",
        ID_MASK: "id",
        EMAIL_MASK: 1,
        f"note {PHONE_MASK}": 2,
        "long": 121.4,
    }
    letter = mask_raw_json(json.dumps({"a": [{"13812340103": 1}]}))
    assert letter == json.dumps({"a": [{PHONE_MASK: 1}]}, separators=(",", ":"))


def test_broken_json_and_csv_lines_are_masked_too() -> None:
    raw = '{"service_request_id": "1", "name": "张三", "description": "张三 13812345678'
    out = mask_raw_json(raw)
    assert "张三" not in out and "13812345678" not in out
    row = "1,张三,张三报修 13812345678"
    out = mask_raw_csv(row, ["id", "caller_name", "description"])
    assert "张三" not in out and "13812345678" not in out


@pytest.mark.parametrize(
    "number",
    [
        "139 001 15678",  # 3-3-5
        "1390-0125-678",  # 4-4-3
        "139  0014  5678",  # two spaces
        "139—0015—5678",  # em dash
        "139–0016–5678",  # en dash
        "139/0017/5678",
        "139 - 0018 - 5678",
        "139-00195678",  # 3-8
        "1 3 9 0 0 1 4 5 6 7 8",  # digit by digit
    ],
)
def test_mobile_numbers_in_any_grouping(number: str) -> None:
    assert mask_text(f"噪音扰民，请回电 {number} 谢谢") == f"噪音扰民，请回电 {PHONE_MASK} 谢谢"


@pytest.mark.parametrize(
    "number",
    [
        "+44 20 7946 0958",
        "+852 9123 4567",
        "+886 912 345 678",
        "+1 (617) 555-0123",
        "+1 646 555 0177",
        "+86 21 6234 5670",  # a Shanghai landline from abroad
        "(+86)139 0007 5678",
        "＋８５２ ９１２３ ４５６７",
    ],
)
def test_international_numbers(number: str) -> None:
    assert mask_text(f"请联系 {number}。") == f"请联系 {PHONE_MASK}。"


@pytest.mark.parametrize(
    ("text", "masked"),
    [  # Boston's closure notes: no "+1", and often no phone word
        ("1/16-CALLED MATTHEW JOHNSON 617-201-3471 AND LEFT", "JOHNSON <phone> AND LEFT"),
        ("City Clerk's office (617) 635-4600 to file", "office <phone> to file"),
        ("*W: 617.635.4500*", "*W: <phone>*"),
        ("reach them at 857 203-1123.", "at <phone>."),
    ],
)
def test_north_american_numbers_as_boston_writes_them(text: str, masked: str) -> None:
    assert mask_text(text).endswith(masked)


@pytest.mark.parametrize(
    "text",
    [
        "case 101001234567 closed",  # a case number: no groups
        "order 123-456-7890",  # an area code never starts with 1
        "ref 617-201-3471-2",  # part of a longer code
        "617-201-34712",
        "2015-06-12 617",
        "totals 1,234.5678",
    ],
)
def test_digit_groups_that_are_not_north_american_numbers_stay(text: str) -> None:
    assert mask_text(text) == text


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("请联系 62345671", "请联系 <phone>"),
        ("联系电话：6234 5671，谢谢", "联系电话：<phone>，谢谢"),
        ("致电6234-567", "致电<phone>"),
        ("回电 623 4567", "回电 <phone>"),
        ("手机号码 62345671", "手机号码 <phone>"),
        ("Tel: 6234-5671", "Tel: <phone>"),
        ("call me at 62345671", "call me at <phone>"),
    ],
)
def test_local_numbers_after_a_phone_word(text: str, masked: str) -> None:
    assert mask_text(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "日期 20260302，金额 12345678 元",  # no phone word: a date and an amount
        "电话13812345678已打过，20260302再来",  # the word belongs to the number before
        "联系人张三，日期 20260302",  # the phone word is in another clause
        "hotel 1234567",  # "tel" inside a word is not the word
        "recall 62345671",
    ],
)
def test_numbers_without_a_phone_word_stay(text: str) -> None:
    masked = mask_text(text)
    assert "20260302" in masked or "1234567" in masked or "62345671" in masked, masked
    assert masked.count(PHONE_MASK) == text.count("13812345678")


@pytest.mark.parametrize(
    ("number", "mask"),
    [
        ("110101 19900307 1245", ID_MASK),
        ("110101-19900307-1256", ID_MASK),
        ("110101 1990 0307 124X", ID_MASK),
        ("E12345678", ID_MASK),  # passports
        ("G12345678", ID_MASK),
        ("A123456(7)", ID_MASK),  # Hong Kong identity cards
        ("AB987654(A)", ID_MASK),
        ("123-45-6789", ID_MASK),  # a US Social Security number
        ("zhang.san@example.com", EMAIL_MASK),
        ("li.si+hotline@mail.example.org", EMAIL_MASK),
        ("13812345678@qq.com", EMAIL_MASK),
    ],
)
def test_documents_and_emails(number: str, mask: str) -> None:
    assert mask_text(f"身份证号{number}，要求处理") == f"身份证号{mask}，要求处理"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("银行卡 6222 0212 3456 7890 123 未到账", f"银行卡 {CARD_MASK} 未到账"),  # not a landline
        ("补贴打到卡号：6217-0000-1000-1234", f"补贴打到卡号：{CARD_MASK}"),  # any digits
        ("社保卡号 123456789012", f"社保卡号 {CARD_MASK}"),
        ("card no. 4111 1111 1111 1112 declined", f"card no. {CARD_MASK} declined"),
        ("acct# 12345678", f"acct# {CARD_MASK}"),
        ("paid with 4111 1111 1111 1111 at the meter", f"paid with {CARD_MASK} at the meter"),
        ("Amex 3782 822463 10005", f"Amex {CARD_MASK}"),
        # no card's word and no Luhn check: readings, times, an order's groups
        ("flow 4111 1111 1111 1112 l/h", "flow 4111 1111 1111 1112 l/h"),
        ("开放时间 0800 1130 1330 1700", "开放时间 0800 1130 1330 1700"),
        ("工号 20231234", "工号 20231234"),
        ("Accounting office, room 1234", "Accounting office, room 1234"),
    ],
)
def test_card_numbers(text: str, masked: str) -> None:
    """A card's number is masked whole, as a card's: after a card's word whatever its digits,
    alone when its Luhn check holds; groups of digits that are neither stay."""
    assert mask_text(text) == masked


def test_passport_shapes_inside_other_codes_stay() -> None:
    for code in ("XE12345678", "E123456789", "E12345678B", "PLATE-沪E1234"):
        assert mask_text(code) == code


@pytest.mark.parametrize(
    "text",
    [
        "2026-03-02T00:01:00+08:00",
        "2026-03-02 10:00",
        "2026-03-13 14:20:00 至 2026-03-15 16:00",
        "2026-03-02T10:00:00+0800",
        "AQ-310113-000024",
        "AQ-310106-139001",
        "V-310106-0012",
        "V-310117-0102",
        "水深 35 厘米",
        "13.5",
        "水位 13.5 12.3 14.2 15.0 16.1 米",  # readings in a row, not digits of one number
        "12345-2026-000001",
        "PM2.5 为 135 微克",
        "第 3 网格 第 12 社区 56 号楼",
    ],
)
def test_ordinary_numbers_stay(text: str) -> None:
    assert mask_text(text) == text


@pytest.mark.parametrize(
    ("text", "mask"),
    [  # the notations that were already masked stay masked
        ("13900015678", PHONE_MASK),
        ("139 0002 5678", PHONE_MASK),
        ("139-0003-5678", PHONE_MASK),
        ("139.0013.5678", PHONE_MASK),
        ("+86 139 0004 5678", PHONE_MASK),
        ("+86-13900055678", PHONE_MASK),
        ("0086 13900065678", PHONE_MASK),
        ("８６１３９０００８５６７８", PHONE_MASK),
        ("139\u30000010\u30005678", PHONE_MASK),
        ("021-62345678", PHONE_MASK),
        ("(021) 6234 5679", PHONE_MASK),
        ("0755-8612 3456", PHONE_MASK),
        ("11010519851203002X", ID_MASK),
        ("11010519851203003x", ID_MASK),
        ("110101850307123", ID_MASK),
        ("１１０１０１１９９００３０７１２６７", ID_MASK),
        ("110101199013451278", ID_MASK),  # an impossible date
    ],
)
def test_notations_masked_before_stay_masked(text: str, mask: str) -> None:
    assert mask_text(f"号码 {text} 。") == f"号码 {mask} 。"
    assert mask_text("021-62345672转801") == f"{PHONE_MASK}转801"
    assert mask_text("13800001111110101199003071289") == ID_MASK  # a phone glued to an ID


# ---------------------------------------------------------------- personal fields
def test_name_keys_are_compared_normalised() -> None:
    record = {
        "reporterName": "慕容复",
        "Caller-Name": "司马懿",
        "applicant": "令狐冲",
        "Complainant": "岳不群",
        "nick name": "东方",
        "申请人": "黄药师",
        "投诉人": "洪七公",
        "来电人": "欧阳锋",
        "visitor": "吕秀才",
        "description": "慕容复、司马懿、令狐冲、岳不群、东方、黄药师、洪七公、欧阳锋、吕秀才来电",
    }
    masked = mask_record(record)
    assert masked == {"description": "、".join([NAME_MASK] * 9) + "来电"}


def test_place_and_service_names_are_not_personal() -> None:
    record = {
        "service_name": "供水",
        "street_name": "真如镇街道",
        "venue_name": "体育馆",
        "district_name": "普陀区",
        "description": "真如镇街道体育馆停水",
    }
    assert mask_record(record) == record
    # and no key a decoder reads would be dropped as personal
    for spec in CHANNELS.values():
        keys = [*spec.id_keys, *spec.ts_keys, *spec.category_keys, *spec.extra_keys]
        keys += [k for k in (spec.flag_key, spec.text_key) if k] + ["lat", "long", "lon"]
        assert [k for k in keys if is_personal_field(k)] == [], spec.name


def test_contact_fields_are_dropped_whatever_their_value() -> None:
    record = {
        "id": "1",
        "phone": "6234 5671 ext. 8",
        "Mobile": "see below",
        "tel": "n/a",
        "telephone": "+1 646 555 0177",
        "e-mail": "lv at example dot com",
        "idCard": "110101 1990",
        "id_number": "x",
        "passport": "E1234",
        "bankCard": "6222 0212",
        "银行卡号": "尾号1234",
        "contact": {"phone": "1"},
        "nested": [{"Email": "a@b.cn", "note": "ok"}],
    }
    assert mask_record(record) == {"id": "1", "nested": [{"note": "ok"}]}


def test_personal_keys_are_told_by_their_words() -> None:
    """Keys a producer composes (`手机号码`, `caller_phone`, `业主姓名`, `callerFirstName`) are
    personal as the listed ones are: a bare local number or a name under them has no shape
    that masking the value catches, and it reached dead letters, and the name the
    description repeated reached orders.ndjson and the tickets."""
    record = {
        "service_request_id": "12345-2026-000001",
        "手机号码": "62340103",
        "电话号码": "62340105",
        "联系方式": "62340104",
        "caller_phone": "62340106",
        "homePhone": "62340107",
        "contact_email": "zhao at example dot cn",
        "户主": "钱多多",
        "业主姓名": "孙悟空",
        "客户姓名": "周杰伦",
        "来电人姓名": "吴彦祖",
        "callerFirstName": "Xiaoming",
        "callerLastName": "Wangfeng",
        "身份证号码": "3101 0519",
        "wechat_id": "zs_88",
        "description": "孙悟空家楼上漏水，钱多多说的，Xiaoming Wangfeng 回电 6234 0106",
        "street_name": "湖南路",
        "service_name": "供水",
    }
    masked = mask_record(record)
    assert masked == {
        "service_request_id": "12345-2026-000001",
        "description": f"{NAME_MASK}家楼上漏水，{NAME_MASK}说的，{NAME_MASK} {NAME_MASK} "
        f"回电 {PHONE_MASK}",
        "street_name": "湖南路",
        "service_name": "供水",
    }
    row = "1,马云,62346666,楼上噪声 马云说的"
    out = mask_raw_csv(row, ["id", "业主姓名", "电话号码", "description"])
    assert "马云" not in out and "62346666" not in out
    # a key about something else keeps its field and its value
    for key in ("street_name", "venue_name", "工单号码", "业主委员会", "identity", "telemetry"):
        assert not is_personal_field(key), key


def test_contact_values_repeated_elsewhere_are_blanked() -> None:
    """A contact field's value is blanked wherever else the record repeats it, even with no
    phone number's shape and no phone word before it ("打6234-5671")."""
    masked = mask_record(
        {
            "tel": "6234 5671 ext. 8",
            "email": "foo.bar@example.com",
            "description": "打6234-5671找我，或 62345671；邮箱 Foo.Bar@Example.com",
            "nested": [{"contact_phone": "8899 7766"}, "then 88997766"],
            "reading": "12345678",  # not a contact value: stays
        }
    )
    assert masked == {
        "description": f"打{PHONE_MASK}找我，或 {PHONE_MASK}；邮箱 {EMAIL_MASK}",
        "nested": [{}, f"then {PHONE_MASK}"],
        "reading": "12345678",
    }


def test_handle_fields_and_local_numbers_and_addresses() -> None:
    """Handle fields are dropped and blanked elsewhere; a landline is blanked without its
    area code too; digits of an address are not joined into a contact number; a lone surname
    in a name field does not blank every word it starts."""
    assert mask_record({"wechat": "zhangsan_88", "description": "加我zhangsan_88"}) == {
        "description": f"加我{HANDLE_MASK}"
    }
    assert mask_record({"tel": "021-62345671", "description": "请打62345671找我"}) == {
        "description": f"请打{PHONE_MASK}找我"
    }
    assert mask_record({"phone": "62345671", "address": "长宁路623号4幢5671室"}) == {
        "address": "长宁路623号4幢5671室"
    }
    assert mask_record({"name": "王", "description": "王家宅路积水"}) == {
        "description": "王家宅路积水"
    }


def test_declared_names_blanked_whatever_case_and_spaces() -> None:
    masked = mask_record(
        {
            "name": "Zhang Wuji",
            "caller_name": "贾宝玉",
            "description": "caller zhang wuji says noise; ZHANG WUJI again, ZhangWuji too; "
            "贾 宝玉 反映",
        }
    )
    assert masked["description"] == (
        f"caller {NAME_MASK} says noise; {NAME_MASK} again, {NAME_MASK} too; {NAME_MASK} 反映"
    )
    # a name's part in Latin letters is blanked as a word, not inside other words
    assert blank_names("Li called the police; li again", ["Li Wei", "Li"]) == (
        f"{NAME_MASK} called the police; {NAME_MASK} again"
    )


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("我叫张三，家住幸福小区", f"我叫{NAME_MASK}，家住幸福小区"),
        ("caller said his name is David Noonan", f"caller said his name is {NAME_MASK}"),
        ("Her name is Mary Lyons.", f"Her name is {NAME_MASK}."),
        ("本人是李四在家等", f"本人是{NAME_MASK}在家等"),
        ("姓名为司马青衫", f"姓名为{NAME_MASK}"),
        ("联系人：欧阳明远，电话13987650123", f"联系人：{NAME_MASK}，电话{PHONE_MASK}"),
        ("居民王建国反映噪音", f"居民{NAME_MASK}反映噪音"),
        ("业主赵丽在家", f"业主{NAME_MASK}在家"),
        ("王女士反映楼道漏水", f"{NAME_MASK}女士反映楼道漏水"),
        ("联系王女士", f"联系{NAME_MASK}女士"),
        ("一位李阿姨说", f"一位{NAME_MASK}阿姨说"),
        ("欧阳先生来电", f"{NAME_MASK}先生来电"),
        ("my name is John Smith and", f"my name is {NAME_MASK} and"),
        ("Mr. Reginald Featherstone called", f"Mr. {NAME_MASK} called"),
        # Boston 311 closure notes: the name after the title, whatever comes before it
        ("Called Mr. Kelly and apologized", f"Called Mr. {NAME_MASK} and apologized"),
        ("spoke to Mrs Skeete on this", f"spoke to Mrs {NAME_MASK} on this"),
        ("微信：zhang_san88 请联系", f"微信：{HANDLE_MASK} 请联系"),
        ("加微信号 Wx-Lily2020", f"加微信号 {HANDLE_MASK}"),
        ("wechat id: abc_def_1", f"wechat id: {HANDLE_MASK}"),
        ("QQ 246813579", f"QQ {HANDLE_MASK}"),
        ("我是张三，住3号楼", f"我是{NAME_MASK}，住3号楼"),
        ("车主王伟反映", f"车主{NAME_MASK}反映"),
        ("居委会张阿姨说", f"居委会{NAME_MASK}阿姨说"),
        ("小区李阿姨", f"小区{NAME_MASK}阿姨"),
        ("Mr.Brown reported", f"Mr.{NAME_MASK} reported"),
        ("联系人:Wang Wei", f"联系人:{NAME_MASK}"),  # pinyin after a Chinese cue
        ("业主：Zhang San，3号楼", f"业主：{NAME_MASK}，3号楼"),
        # names in capitals, in lower case after "my name is", with particles and apostrophes
        ("MR. BROWN reported", f"MR. {NAME_MASK} reported"),
        ("spoke to MRS SMITH, she agreed", f"spoke to MRS {NAME_MASK}, she agreed"),
        ("SPOKE TO MR THEODORE 5/5", f"SPOKE TO MR {NAME_MASK} 5/5"),
        ("MS. O'BRIEN called", f"MS. {NAME_MASK} called"),
        ("my name is john smith and i live here", f"my name is {NAME_MASK} and i live here"),
        ("MY NAME IS JOHN SMITH", f"MY NAME IS {NAME_MASK}"),
        ("my name is john Smith, call me", f"my name is {NAME_MASK}, call me"),
        ("my name is Robert GJECI I'm disabled", f"my name is {NAME_MASK} I'm disabled"),
        ("JFC assisted Ms. jackson  resident", f"JFC assisted Ms. {NAME_MASK}  resident"),
        ("Mr. O'Brien called", f"Mr. {NAME_MASK} called"),
        ("I referred Mr. McDonald to ISD", f"I referred Mr. {NAME_MASK} to ISD"),
        ("Ms. MacArthur agreed", f"Ms. {NAME_MASK} agreed"),
        ("Ms. van der Berg called", f"Ms. {NAME_MASK} called"),
        ("my name is Maria Lopez de la Cruz", f"my name is {NAME_MASK}"),
        ("Mrs. Smith-Jones called", f"Mrs. {NAME_MASK} called"),
        ("Mr. and Mrs. Kelly called", f"Mr. and Mrs. {NAME_MASK} called"),
        # Chinese cues: a patient, a grid worker, a surname given alone, 本人
        ("患者张三，男，65岁", f"患者{NAME_MASK}，男，65岁"),
        ("120送医，患者欧阳明远在家", f"120送医，患者{NAME_MASK}在家"),
        ("网格员李明已到场", f"网格员{NAME_MASK}已到场"),
        ("网格员：赵丽，电话13912345678", f"网格员：{NAME_MASK}，电话{PHONE_MASK}"),
        ("我姓王名伟，住3号楼", f"我姓{NAME_MASK}，住3号楼"),
        ("我姓王，家住幸福小区", f"我姓{NAME_MASK}，家住幸福小区"),
        ("我姓王，名叫王伟", f"我姓{NAME_MASK}"),
        ("免贵姓欧阳", f"免贵姓{NAME_MASK}"),
        ("本人姓聂", f"本人姓{NAME_MASK}"),
        ("本人王伟反映", f"本人{NAME_MASK}反映"),
        # messaging handles under their slang words
        ("加V zhangsan88", f"加V {HANDLE_MASK}"),
        ("有事加vzhang_san", f"有事加v{HANDLE_MASK}"),
        ("薇信：abc12345", f"薇信：{HANDLE_MASK}"),
        ("威信号 lily_2020 联系", f"威信号 {HANDLE_MASK} 联系"),
        ("V信 abc_123", f"V信 {HANDLE_MASK}"),
        ("扣扣 123456789", f"扣扣 {HANDLE_MASK}"),
        ("企鹅号：987654321", f"企鹅号：{HANDLE_MASK}"),
    ],
)
def test_names_and_handles_the_text_marks_are_masked(text: str, masked: str) -> None:
    """A name no field declares is caught where the text says it is one (a cue before it, a
    form of address after its surname), and a messaging handle after its word."""
    assert mask_text(text) == masked
    assert mask_record({"description": text})["description"] == masked


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("请回电wxid_k9a8b7c6d5", f"请回电{HANDLE_MASK}"),
        ("噪声扰民 WXID_K9A8B7C6D5，谢谢", f"噪声扰民 {HANDLE_MASK}，谢谢"),
        ("加微信 wxid_k9a8b7c6d5", f"加微信 {HANDLE_MASK}"),
        ("see wxid_ab", "see wxid_ab"),  # too short for an id: stays
        ("xwxid_abcdef", "xwxid_abcdef"),  # inside another word: stays
    ],
)
def test_a_wechat_id_as_wechat_makes_it_needs_no_cue(text: str, masked: str) -> None:
    """WeChat's own ids (wxid_ and a dozen letters and digits) passed where no cue word
    came before them."""
    assert mask_text(text) == masked
    assert not nothing_to_mask(text) or masked == text


@pytest.mark.parametrize(
    "text",
    [
        "我是小区居民",  # a cue, no surname after it
        "市民刘某反映",  # already anonymous
        "保安大爷不让进",  # a guard: 安 is a surname inside a word
        "门卫大爷说",
        "维修师傅已到",
        "市民反映路灯不亮已经三天了",
        "This is Main Street flooding",
        "Li called the police",
        "22 Parkside Dr  Jamaica Plain  MA  02130",  # Dr is a Drive
        "Customer called Customer Service Dept",
        "Drain blocked at the address",
        "vx同号",
        "居民徐汇区反映噪音",  # a district, though 徐 is a surname
        "业主欧阳路街道3号",  # a road named after a compound surname
        # after a cue that may precede a word as well as a name, a word stays
        "我是黄浦区居民",
        "居民安全隐患",
        "住户车位被占",
        "我是周边居民",
        "市民文明行为",
        "I'm Outside City Hall",  # "I am" / "I'm" are no cues
        "居民安全，请尽快处理",  # 安 is a surname, 安全 a word
        # the new Chinese cues before ordinary words
        "保障患者安全，",
        "患者高龄，行动不便",
        "患者家属在场",
        "患者于昨日入院",
        "网格员马上到场",
        "联系网格员和物业，",
        "政府威信很高",
        "我姓名都不愿透露",
        # organisations and brands after a cue or a title
        "Name: Boston Water and Sewer",
        "Mrs. Fields Cookies",
        "Mrs. Fields' Cookies at Faneuil Hall",
        "Contact: Acme Towing LLC",
        "NAME: BOSTON PUBLIC SCHOOLS",
        "Mr. Smith and Sons Plumbing",
        # capitals, lower case and words that are no names
        "my name is on the lease",
        "Name: unknown",
        "FYI  used only by MS  HS  and WB's",  # schools, not "Ms"
        "DO NOT MISS TRASH DAY",  # a verb, not "Miss"
        "She holds an MS degree",
        "Mr. and Mrs.",
    ],
)
def test_text_without_a_marked_name_stays(text: str) -> None:
    assert mask_text(text) == text


@pytest.mark.parametrize(
    "text",
    [  # a cue followed at once by a word that starts with a surname, as 12345 orders write
        "本人于昨日下午发现漏水。",
        "来电人于今日上午来电。",
        "来电人曾多次反映。",
        "本人马上过来。",
        "联系人马上联系你",
        "投诉人高度不满。",
        "联系人方式不详。",
        "本人常年居住在此。",
        "联系人：万科物业",
        "居民发现漏水",
        "居民安全需要保障",
        "市民看到火情",
        "二〇二六年三月二日",  # Chinese numerals of a date or an amount are no phone number
        "三百五十万元",
        "房号一二三四五六",
        "抖音很火",  # the app's name alone
        "钉钉群里说",
    ],
)
def test_words_after_a_cue_are_not_names(text: str) -> None:
    assert mask_text(text) == text


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("来电人张三反映", f"来电人{NAME_MASK}反映"),
        ("患者王小明发烧三天。", f"患者{NAME_MASK}发烧三天。"),
        ("网格员王小明巡查发现积水。", f"网格员{NAME_MASK}巡查发现积水。"),
        ("患者张伟需要轮椅。", f"患者{NAME_MASK}需要轮椅。"),
        ("加微 lisi88", f"加微 {HANDLE_MASK}"),
        ("+V lisi88", f"+V {HANDLE_MASK}"),
        ("抖音号 lisi88", f"抖音号 {HANDLE_MASK}"),
        ("钉钉 lisi88", f"钉钉 {HANDLE_MASK}"),
        ("电话一三八一二三四五六七八", f"电话{PHONE_MASK}"),
        ("电话：壹叁捌壹贰叁肆伍陆柒捌", f"电话：{PHONE_MASK}"),
        ("请拨幺三九零零一二三四五六", f"请拨{PHONE_MASK}"),
        ("电话13812345678，一三八一二三四五六七八", f"电话{PHONE_MASK}，{PHONE_MASK}"),
        ("来电人于伟反映漏水", f"来电人{NAME_MASK}反映漏水"),
        ("本人王伟，家住", f"本人{NAME_MASK}，家住"),
        ("投诉人：李明", f"投诉人：{NAME_MASK}"),
        ("his name is john smith and he called.", f"his name is {NAME_MASK} and he called."),
        ("Call back 617 201 3471 please.", f"Call back {PHONE_MASK} please."),
        ("Tel 617 201 3471", f"Tel {PHONE_MASK}"),
        ("call my phone at 6179592437.", f"call my phone at {PHONE_MASK}."),
        ("call us @ 1-617-635-7501.", f"call us @ {PHONE_MASK}."),
    ],
)
def test_names_and_numbers_a_qa_pass_found(text: str, masked: str) -> None:
    assert mask_text(text) == masked


def test_spaced_digits_without_a_phone_word_stay() -> None:
    for text in ("flows 250 300 1200 today", "order 2502013471 shipped"):
        assert mask_text(text) == text


@pytest.mark.parametrize(
    ("text", "masked"),
    [  # a North American number further from its phone word than a few characters
        ("Please call Mr. Brown at 617 201 3471", f"Please call Mr. {NAME_MASK} at {PHONE_MASK}"),
        (
            "Any other isues please call me Chris Lee 617 594 0572.",
            f"Any other isues please call me Chris Lee {PHONE_MASK}.",
        ),
        (
            "please call Mrs. Gonzalez on her cell 617 201 3471 tomorrow",
            f"please call Mrs. {NAME_MASK} on her cell {PHONE_MASK} tomorrow",
        ),
        ("gonna have to call capital at 6175691718", f"gonna have to call capital at {PHONE_MASK}"),
        ("Call the owner @ 6172013471", f"Call the owner @ {PHONE_MASK}"),
        (
            "please give me a  call to discuss  6173089786  clarence",
            f"please give me a  call to discuss  {PHONE_MASK}  clarence",
        ),
    ],
)
def test_north_american_numbers_later_in_the_clause_of_a_phone_word(text: str, masked: str) -> None:
    assert mask_text(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "Called resident. Reading 617 201 3471",  # the sentence ended
        "call me first. Then 617 201 3471",
        "called back, flows 250 300 1200 today",  # the clause ended
        "called regarding ref 6172013471",  # a reference
        "Called about case 6172013471",
        "联系物业尽快处理漏水 工单 2026030112",  # a Chinese phone word reaches not so far
        "call about ticket no. 617 201 3471",
        "call about case 101001234567",  # a case number
        "call the office about ref 617 201 3471 2",  # a group of a longer code
        "Call the office; the readings were 250 300 1200",
        "please call us about the meter, the long one reading 250 300 1200",
    ],
)
def test_numbers_far_from_a_phone_word_or_across_a_break_stay(text: str) -> None:
    assert mask_text(text) == text


@pytest.mark.parametrize(
    ("text", "masked"),
    [  # a person's role before the name, or a caller introducing themselves
        ("Resident Jane Doe", f"Resident {NAME_MASK}"),
        ("resident John Smith called", f"resident {NAME_MASK} called"),
        (
            "Case Noted Resident Joan Toomey does not want a new tree planted at this location.",
            f"Case Noted Resident {NAME_MASK} does not want a new tree planted at this location.",
        ),
        (
            "Property owner Adrian Mclean does not want a new tree planted.",
            f"Property owner {NAME_MASK} does not want a new tree planted.",
        ),
        (
            "spoke with tenant Maria Lopez about the heat",
            f"spoke with tenant {NAME_MASK} about the heat",
        ),
        ("Caller Mary stated the light is out", f"Caller {NAME_MASK} stated the light is out"),
        # a name that is no common given name, when the person does something after it
        ("tenant Reginald Featherstone called back", f"tenant {NAME_MASK} called back"),
        ("Constituent Wang Wei reported a leak", f"Constituent {NAME_MASK} reported a leak"),
        ("Complainant: Reginald Featherstone", f"Complainant: {NAME_MASK}"),
        ("homeowner Mary-Kate O'Brien called", f"homeowner {NAME_MASK} called"),
        ("landlord Patrick McDonald", f"landlord {NAME_MASK}"),
        ("neighbor Maria van der Berg", f"neighbor {NAME_MASK}"),
        ("This is Peter Parker calling", f"This is {NAME_MASK} calling"),
        ("Hi, this is Mary from Dorchester", f"Hi, this is {NAME_MASK} from Dorchester"),
        (
            "I'm pretty sure this is Maria Pontes.  We have several investigations",
            f"I'm pretty sure this is {NAME_MASK}.  We have several investigations",
        ),
        ("This is Reginald Featherstone calling", f"This is {NAME_MASK} calling"),
        ("this is Maureen speaking", f"this is {NAME_MASK} speaking"),
        ("请联系resident Jane Doe", f"请联系resident {NAME_MASK}"),
    ],
)
def test_names_after_a_role_or_an_introduction_are_masked(text: str, masked: str) -> None:
    assert mask_text(text) == masked
    assert mask_record({"description": text})["description"] == masked


@pytest.mark.parametrize(
    "text",
    [  # words of a title, a department, a place or a permit after a role or "this is"
        "Resident Parking",
        "Resident Parking Permit for South Boston",
        "Resident Permit",
        "Resident Services",
        "Caller ID",
        "Resident of Main Street",
        "Tenant Failed Apt\\Was Not Home",
        "Tenant Rights booklet",
        "Tenant Will Call Back",
        "Caller Reports   Issue being resolved by landlord.",
        "Owner Found",
        "nominated for a 2015 Landlord Award.",
        "Constituent Call",
        "Constituent     National Grid responding to",
        "Dear Constituent     The Boston Public Works Department",
        "Met with caller  Bollards/guardrail not needed",
        "Homeowner: Yes",
        "Caller: Anonymous",
        "This is Boston Water and Sewer",
        "This is Boston Water and Sewer calling",
        "This is National Grid calling",
        "This is a test",
        "THIS IS A TEST - PLEASE IGNORE",
        "This is Brookline. Kevin  refer to",
        "This is BTD policy.",
        "This is Verizon calling",
        "This is Main Street flooding",
        "This is Dorchester Avenue near the park",
        "nonresident Jane Doe",  # not the word
    ],
)
def test_words_after_a_role_or_an_introduction_stay(text: str) -> None:
    assert mask_text(text) == text


@pytest.mark.parametrize(
    ("text", "masked"),
    [  # a note in capitals: a common given name after the role, and the words after it up
        # to the first word of a note
        ("RESIDENT JOHN SMITH CALLED", f"RESIDENT {NAME_MASK} CALLED"),
        ("THIS IS MARY FROM DORCHESTER", f"THIS IS {NAME_MASK} FROM DORCHESTER"),
        (
            "CASE NOTED  HOMEOWNER ANNE REED DOES NOT WANT A NEW TREE PLANTED",
            f"CASE NOTED  HOMEOWNER {NAME_MASK} DOES NOT WANT A NEW TREE PLANTED",
        ),
        (
            "CASE NOTED PROPERTY OWNER ADRIAN MCLEAN DOES NOT WANT A NEW TREE PLANTED.",
            f"CASE NOTED PROPERTY OWNER {NAME_MASK} DOES NOT WANT A NEW TREE PLANTED.",
        ),
        (
            "I'M PRETTY SURE THIS IS MARIA PONTES.  WE HAVE SEVERAL INVESTIGATIONS",
            f"I'M PRETTY SURE THIS IS {NAME_MASK}.  WE HAVE SEVERAL INVESTIGATIONS",
        ),
        ("TENANT KEVIN WALSH STATES NO HEAT", f"TENANT {NAME_MASK} STATES NO HEAT"),
        ("SPOKE TO OWNER JOHN O'BRIEN, HE AGREED", f"SPOKE TO OWNER {NAME_MASK}, HE AGREED"),
        ("HOMEOWNER MARY-KATE SMITH-JONES", f"HOMEOWNER {NAME_MASK}"),
        ("THIS IS MARIA DE LA CRUZ CALLING", f"THIS IS {NAME_MASK} CALLING"),
        ("RESIDENT JOHN SMITH OF MAIN ST", f"RESIDENT {NAME_MASK} OF MAIN ST"),
        ("CONSTITUENT  LINDA KOWALSKI", f"CONSTITUENT  {NAME_MASK}"),
        ("Resident JOHN SMITH", f"Resident {NAME_MASK}"),
        # a given name alone, when the person does something after it or after a colon
        ("RESIDENT JOHN CALLED BACK", f"RESIDENT {NAME_MASK} CALLED BACK"),
        ("THIS IS KAREN WITH BWSC", f"THIS IS {NAME_MASK} WITH BWSC"),
        ("CALLER: PATRICK", f"CALLER: {NAME_MASK}"),
        # a given name that is also a word, only so
        ("CALLER CAROL SMITH CALLED BACK", f"CALLER {NAME_MASK} CALLED BACK"),
        # a role among words kept is looked at again
        ("THIS IS TENANT MARY SMITH", f"THIS IS TENANT {NAME_MASK}"),
        # lower case that changes the text's length: the cues are looked for again
        ("İ RESIDENT JOHN SMITH CALLED", f"İ RESIDENT {NAME_MASK} CALLED"),
    ],
)
def test_names_in_capitals_after_a_role_or_an_introduction_are_masked(
    text: str, masked: str
) -> None:
    assert mask_text(text) == masked
    assert mask_record({"description": text})["description"] == masked


@pytest.mark.parametrize(
    "text",
    [  # in capitals a name is told by a given name only, and not before a place's word
        "RESIDENT PARKING PERMIT",
        "RESIDENT PARKING PERMIT FOR SOUTH BOSTON",
        "CALLER ID",
        "TENANT FAILED APT\\WAS NOT HOME",
        "OWNER FOUND",
        "THIS IS A TEST",
        "THIS IS A TEST CASE //",
        "THIS IS BOSTON WATER AND SEWER",
        "THIS IS BOSTON WATER AND SEWER CALLING",
        "RESIDENT OF MAIN ST",
        "RESIDENT SERVICES",
        "OWNER WILL THAW 2/16",
        "CALLER CAME OUT AND SHOWED US AN AREA OF MELTING SNOW",
        "SPOKE TO OWNER STATED NO WATER IN BASEMENT. 5/7",
        "THIS IS GROUNDWATER DISCHARGING INTO STREET 1/22",
        "THIS IS NOT A BWSC ISSUE INTERNAL DRAIN LEADER ISSUE UP TO BLDG OWNER",
        "THIS IS AN OLD REQ FROM MAY?SPRINKLER SYSTEM WAS RUNNING",
        "THIS IS JUST SNOW MELTING. 3/7",
        "THIS IS A DCR LOCATION IT IS NOT THE COB",
        "THIS IS JOSEPH ST",
        "THIS IS SHIRLEY STREET",
        "THIS IS CHARLES RIVER",
        "THIS IS LOGAN AIRPORT",
        "THIS IS MARTIN LUTHER KING BLVD",
        "THIS IS PAUL REVERE MALL",
        "OWNER: BOSTON HOUSING AUTHORITY",
        "THIS IS AMBER ALERT",  # a given name that is a word as well
        "THIS IS CRYSTAL CLEAR WATER",
        "RESIDENT JOHN AND HIS WIFE",  # a given name alone, nothing done after it
        "THIS IS ALEX",
        "NONRESIDENT JOHN SMITH",  # not the word
        # in Title case, the new words of a place
        "This is Logan Airport",
        "This is Charles River",
    ],
)
def test_words_in_capitals_after_a_role_or_an_introduction_stay(text: str) -> None:
    assert mask_text(text) == text


@pytest.mark.parametrize(
    ("text", "masked"),
    [  # a department's acronym after a label is no name; a name in capitals still is
        ("Contact: DPW", "Contact: DPW"),
        ("contact: BTD Staff", "contact: BTD Staff"),
        ("Name: ISD", "Name: ISD"),
        ("Contact: BWSC, the meter reading unit", "Contact: BWSC, the meter reading unit"),
        ("Contact: John SMITH", f"Contact: {NAME_MASK}"),
        ("Contact: JOHN", f"Contact: {NAME_MASK}"),  # a given name, not an acronym
        ("NAME: SMITH", f"NAME: {NAME_MASK}"),  # a note in capitals: a surname
        ("Contact: Mr. SMITH", f"Contact: Mr. {NAME_MASK}"),
        ("SPOKE TO MR THEODORE", f"SPOKE TO MR {NAME_MASK}"),
    ],
)
def test_acronyms_after_a_name_label(text: str, masked: str) -> None:
    assert mask_text(text) == masked


@pytest.mark.parametrize(
    ("text", "masked"),
    [  # a middle initial, with its dot or without, between a given name and a surname
        ("My name is John A. Smith", f"My name is {NAME_MASK}"),
        ("Name: John A. Smith", f"Name: {NAME_MASK}"),
        ("Name: John A. Smith, Apt 3", f"Name: {NAME_MASK}, Apt 3"),
        ("His name is John A Smith.", f"His name is {NAME_MASK}."),
        ("MY NAME IS JOHN A. SMITH", f"MY NAME IS {NAME_MASK}"),
        ("my name is john a. smith", f"my name is {NAME_MASK}"),
        ("Please ask for Mr. John Q. Public", f"Please ask for Mr. {NAME_MASK}"),
        ("Contact: Mary J. Smith-Jones", f"Contact: {NAME_MASK}"),
        (
            "Resident John A. Smith called about the tree",
            f"Resident {NAME_MASK} called about the tree",
        ),
        ("Resident John A Smith", f"Resident {NAME_MASK}"),
        ("Tenant: Reginald Q. Featherstone", f"Tenant: {NAME_MASK}"),
        ("tenant Reginald Q. Featherstone called back", f"tenant {NAME_MASK} called back"),
        ("this is Mary J. Blige calling", f"this is {NAME_MASK} calling"),
        ("RESIDENT JOHN A SMITH CALLED", f"RESIDENT {NAME_MASK} CALLED"),
        ("RESIDENT JOHN A. SMITH CALLED", f"RESIDENT {NAME_MASK} CALLED"),
        ("THIS IS MARY J BLIGE FROM DORCHESTER", f"THIS IS {NAME_MASK} FROM DORCHESTER"),
        ("SPOKE TO OWNER WILLIAM J. O'BRIEN, HE AGREED", f"SPOKE TO OWNER {NAME_MASK}, HE AGREED"),
        # a lone trailing initial is no surname: the name before it is masked as it was
        ("Contact: John A", f"Contact: {NAME_MASK} A"),
    ],
)
def test_names_with_a_middle_initial_are_masked_whole(text: str, masked: str) -> None:
    assert mask_text(text) == masked
    assert mask_record({"description": text})["description"] == masked


@pytest.mark.parametrize(
    "text",
    [  # a capital letter alone after a cue is a name's initial only between a given name and
        # a surname
        "Resident Parking Permit A",
        "CALLER ID A12",
        "THIS IS A TEST",
        "this is a test",
        "Tenant Failed Apt",
        "Owner Found A Dog",
        "Caller Reports A Leak",
        "RESIDENT PARKING PERMIT A",
        "OWNER FOUND A DOG",
        "CALLER REPORTS A LEAK",
        "THIS IS JOSEPH A ST",
        "This is John F. Kennedy Park",
        "THIS IS MARTIN L KING BLVD",
        "RESIDENT JOHN A NEIGHBOR",
    ],
)
def test_a_capital_letter_after_a_cue_that_is_no_initial_stays(text: str) -> None:
    assert mask_text(text) == text


def test_broken_lines_blank_personal_values() -> None:
    raw = (
        '{"sensor_id": "AQ-1", "reporterName": "慕容博", "phone": "6234 5671", '
        '"email": "wang.wu at example", "passport": "E1234", "note": "慕容博 来过'
    )
    out = mask_raw_json(raw)
    for secret in ("慕容博", "6234 5671", "wang.wu", "E1234"):
        assert secret not in out, out
    assert f'"phone":"{PHONE_MASK}"' in out and f'"email":"{EMAIL_MASK}"' in out
    assert f'"passport":"{ID_MASK}"' in out and '"sensor_id": "AQ-1"' in out
    header = ["id", "applicant", "Tel", "e_mail", "description"]
    out = mask_raw_csv("C-7,任我行,6234 5671 8,wang.wu at example,任我行 来电", header)
    assert out == f"C-7,{NAME_MASK},{PHONE_MASK},{EMAIL_MASK},{NAME_MASK} 来电"


def test_rejected_records_keep_no_contact_data() -> None:
    hotline = {
        "service_request_id": "R-1",
        "service_code": "no_such_code",
        "description": "噪音，慕容博来电",
        "requested_datetime": T0,
        "lat": 31.28,
        "long": 121.38,
        "channel": "phone",
        "email": "wang.wu@example.com",
        "phone": "+1 646 555 0177",
        "reporterName": "慕容博",
        "applicant": "任我行",
        "id_card": "110101 19900307 1313",
    }
    checkpoint = {
        "checkpoint_id": "CK-B",
        "venue": "V-310117-0102",
        "ts": T0,
        "result": "maybe",
        "visitor": "吕秀才",
        "email": "lv@example.com",
        "passport": "G12345678",
    }
    out = ""
    for channel, record in (("hotline", hotline), ("checkpoint", checkpoint)):
        line = json.dumps(record, ensure_ascii=False).encode()
        batch, letters = ChannelDecoder(channel).decode(chunk_of_lines("x.ndjson", [line]))
        assert len(batch) == 0 and len(letters) == 1
        out += _letters_text(letters)
    assert '"channel\\":\\"phone\\"' in out and "V-310117-0102" in out
    for secret in ("example.com", "646 555", "慕容博", "任我行", "1313", "吕秀才", "G12345678"):
        assert secret not in out, secret
    header = b"service_request_id,service_code,requested_datetime,lat,long,phone,name,email"
    row = f"C-7,road_damage,{T0},north,121.38,+44 7700 900124,Bruce Wayne,bruce@example.com"
    chunk = RawChunk("h.csv", 2, row.encode() + b"\n", "csv", header)
    _batch, letters = ChannelDecoder("hotline").decode(chunk)
    out = _letters_text(letters)
    assert "north" in out and all(s not in out for s in ("7700", "Bruce", "bruce@"))


# ---------------------------------------------------------------- through the decoders
def _batch_text(batch: ChannelBatch | SensorBatch) -> str:
    if isinstance(batch, SensorBatch):
        return ""  # numbers only: nothing to leak
    parts = [*batch.record_id, *batch.text, *(v for col in batch.extra.values() for v in col)]
    return "\n".join(parts)


def _letters_text(letters: DeadLetters) -> str:
    """What the flow writes into dead_letters.ndjson for `letters`."""
    return "".join(line + "\n" for line in dead_letter_lines(letters.letters))


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


@settings(max_examples=60, deadline=None)
@given(
    planted=st.lists(st.tuples(st.sampled_from(HOTLINE_KEYS), secrets), min_size=1, max_size=6),
    name=names,
    broken=st.booleans(),
    as_csv=st.booleans(),
)
def test_hotline_secrets_never_reach_any_output(
    planted: list[tuple[str, str]], name: str, broken: bool, as_csv: bool
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
    out = _batch_text(batch) + "\n" + _letters_text(letters)
    assert_clean(out, secrets_in, [name])


@settings(max_examples=40, deadline=None)
@given(secret=secrets, name=names, where=st.sampled_from(["sensor_id", "ts", "note", "pm25"]))
def test_sensor_dead_letters_are_masked(secret: str, name: str, where: str) -> None:
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
    assert_clean(_letters_text(letters), [secret], [name])


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


@pytest.mark.parametrize(
    ("text", "masked"),
    [  # a full name before a form of address, or after a cue with more text after it
        ("已拆除, 业主张伟先生配合", f"已拆除, 业主{NAME_MASK}先生配合"),
        ("请联系李明先生 13912345678 处理", f"请联系{NAME_MASK}先生 {PHONE_MASK} 处理"),
        ("联系人张伟女士", f"联系人{NAME_MASK}女士"),
        ("患者王芳女士", f"患者{NAME_MASK}女士"),
        ("网格员李强师傅", f"网格员{NAME_MASK}师傅"),
        ("张伟先生反映", f"{NAME_MASK}先生反映"),
        ("欧阳明老师来电", f"{NAME_MASK}老师来电"),
        ("业主张伟配合", f"业主{NAME_MASK}配合"),
        ("业主王建国配合拆除", f"业主{NAME_MASK}配合拆除"),
        ("联系人王芳电话", f"联系人{NAME_MASK}电话"),
        # as before: a surname alone before a form, a name that ends the text
        ("王先生", f"{NAME_MASK}先生"),
        ("业主张伟", f"业主{NAME_MASK}"),
        ("联系王女士", f"联系{NAME_MASK}女士"),
    ],
)
def test_full_names_before_a_form_or_going_on_after_a_cue(text: str, masked: str) -> None:
    assert mask_text(text) == masked


@pytest.mark.parametrize(
    "text",
    ["业主配合", "联系人电话", "业主和物业协商", "居民文明出行", "住户单元门口", "保安大爷不让进"],
)
def test_words_going_on_after_a_cue_stay(text: str) -> None:
    assert mask_text(text) == text

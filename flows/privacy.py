"""Personal data is masked at decode, before anything else sees a record.

The Shanghai rules this project follows ask that personal information serve only the purpose
it was collected for and never leak.  Nothing downstream (windows, warnings, tickets, metrics,
dead letters) needs a caller's number, identity card or name, so they are removed here, once:

- Chinese mobile numbers (1[3-9] and nine digits, with or without +86 / 0086 and with spaces or
  dashes between the groups), landlines with an area code (021-12345678, (021) 1234 5678),
  18-digit resident identity numbers (last character may be X) and the old 15-digit ones are
  replaced by a placeholder in *every* string, free text included;
- fields that hold a person's name (`name`, `caller_name`, `contact`, ...) are dropped, and
  the dropped names are also blanked wherever else they occur in the same record (a caller's
  name repeated in the description is the common leak).

A name that appears in free text without being declared in a name field cannot be recognised
reliably and is not claimed to be caught.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from flows.jsontext import dumps

PHONE_MASK = "<phone>"
ID_MASK = "<id-number>"
NAME_MASK = "<name>"
DEEP_MASK = "<nested too deeply>"
# Records nest a level or two; a value nested deeper than this is replaced whole, so that a
# hostile line of thousands of brackets (which json.loads accepts) cannot exhaust the stack.
MAX_DEPTH = 32

# Keys whose values are a person's name (compared case-insensitively).
NAME_FIELDS: frozenset[str] = frozenset(
    {
        "name",
        "caller_name",
        "callername",
        "caller",
        "contact",
        "contact_name",
        "contactname",
        "reporter",
        "reporter_name",
        "first_name",
        "last_name",
        "full_name",
        "person",
        "person_name",
        "citizen_name",
        "姓名",
        "联系人",
    }
)

_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９＋－（）Ｘｘ", "0123456789+-()Xx")
_SEP = r"[\s\-\.]?"
_DATE = r"(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
_ID_18 = rf"[1-9]\d{{5}}(?:18|19|20)\d{{2}}{_DATE}\d{{3}}[\dXx]"
_ID_15 = rf"[1-9]\d{{5}}\d{{2}}{_DATE}\d{{3}}"
_MOBILE = rf"(?:(?:\+|00)?86{_SEP})?1[3-9]\d{_SEP}\d{{4}}{_SEP}\d{{4}}"
_LANDLINE = rf"(?:\(0\d{{2,3}}\)\s?|0\d{{2,3}}{_SEP})[2-9]\d{{2,3}}{_SEP}\d{{4}}"
# A match must not be glued to more digits: "13812345678" inside a 20-digit number is not a
# phone number.  ID numbers first, so that a mobile-looking run inside one is not half-masked.
_ID_RE = re.compile(rf"(?<!\d)(?:{_ID_18}|{_ID_15})(?!\d)")
_PHONE_RE = re.compile(rf"(?<![\d+])(?:{_MOBILE}|{_LANDLINE})(?!\d)")
# Any long run of digits that is not a plausible number of something else is masked too:
# better an over-masked meter reading than a leaked card number with a typo in its date, or
# a phone number glued to an ID number ("139876501253101061985...") that neither rule takes.
_LONG_DIGITS_RE = re.compile(r"(?<!\d)\d{15,}[Xx]?")


def mask_text(text: str) -> str:
    """The text with phone and identity numbers replaced by placeholders."""
    if not any(ch.isdigit() for ch in text):
        return text
    text = text.translate(_FULLWIDTH_DIGITS)
    text = _ID_RE.sub(ID_MASK, text)
    text = _LONG_DIGITS_RE.sub(ID_MASK, text)
    return _PHONE_RE.sub(PHONE_MASK, text)


def is_name_field(key: str) -> bool:
    return key.strip().lower() in NAME_FIELDS


def blank_names(text: str, names: Iterable[str]) -> str:
    """The text with each of `names` (a record's declared names) replaced by a placeholder."""
    for name in names:
        if name and name in text:
            text = text.replace(name, NAME_MASK)
    return text


def names_in_record(record: Mapping[str, Any]) -> list[str]:
    """The values of a record's name fields (nested ones too), longest first."""
    names: list[str] = []

    def walk(value: Any, depth: int) -> None:
        if depth > MAX_DEPTH:
            return
        if isinstance(value, dict):
            for k, v in value.items():
                if is_name_field(str(k)) and isinstance(v, str | int | float) and v != "":
                    names.append(str(v).strip())
                else:
                    walk(v, depth + 1)
        elif isinstance(value, list):
            for v in value:
                walk(v, depth + 1)

    walk(record, 0)
    return _name_variants(names)


_NAME_SPLIT_RE = re.compile(r"[\s,，、/;；|()（）]+")


def _name_variants(values: Iterable[str]) -> list[str]:
    """Each declared name, and its parts when it holds several ("张三 李四", "Li, Wei"),
    longest first so that "张三丰" is blanked whole before "张三" could split it."""
    found: set[str] = set()
    for value in values:
        value = value.strip()
        if not value:
            continue
        found.add(value)
        for part in _NAME_SPLIT_RE.split(value):
            if len(part) >= 2 and not part.isdigit():
                found.add(part)
    return sorted(found, key=len, reverse=True)


def _mask_value(value: Any, names: list[str], depth: int = 0) -> Any:
    if isinstance(value, str):
        return blank_names(mask_text(value), names)
    if isinstance(value, dict | list) and depth >= MAX_DEPTH:
        return DEEP_MASK
    if isinstance(value, dict):
        return {
            str(k): _mask_value(v, names, depth + 1)
            for k, v in value.items()
            if not is_name_field(str(k))
        }
    if isinstance(value, list):
        return [_mask_value(v, names, depth + 1) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**10:
        # an 11-digit phone number sent as a JSON number is still a phone number
        return mask_text(str(value))
    return value


def mask_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a decoded record with name fields dropped and every string masked."""
    names = names_in_record(record)
    return {str(k): _mask_value(v, names) for k, v in record.items() if not is_name_field(str(k))}


# Keys the digest below is made with: not a secret (it is in the code), only what makes the
# digest this project's own, so that it matches no other system's hash of the same number.
_ID_DIGEST_KEY = b"citysigns record id"


def masked_id(value: str, names: Iterable[str] = ()) -> str:
    """A record's id with personal data masked, still telling records apart.

    Ids are the channel's (a work order number), kept as they are; but an id can read like a
    phone or identity number (an 18-digit order number of district + date + sequence does),
    or carry one.  Masked alone, every such id became the same placeholder and the records
    after the first were dropped as duplicates; so a masked id keeps a short digest of the
    original: the same id always gives the same text, and different ids stay different."""
    masked = blank_names(mask_text(value), names)
    if masked == value:
        return value
    digest = hashlib.blake2b(value.encode(), digest_size=8, key=_ID_DIGEST_KEY).hexdigest()
    return f"{masked}#{digest}"


_NAME_VALUE_RE = re.compile(
    r'"(?P<key>[^"\\]{1,40})"\s*:\s*"(?P<value>(?:[^"\\]|\\.)*)(?:"|$)', re.UNICODE
)


_STRING_RE = re.compile(r'"((?:[^"\\]|\\.)*)"(\s*:)?|"((?:[^"\\]|\\.)*)$')


def redact_strings(raw: str) -> str:
    """Every string value of a broken JSON line replaced by its length; keys kept.

    When a line does not parse, which of its strings is a name can no longer be told (the
    name field may be the part that was cut off), so none of them is kept.
    """

    def sub(m: re.Match[str]) -> str:
        if m.group(2):  # a key
            return m.group(0)
        body = m.group(1) if m.group(1) is not None else m.group(3) or ""
        return f'"<redacted {len(body)} chars>"'

    return mask_text(_STRING_RE.sub(sub, raw))


def redact_cells(raw: str) -> str:
    """A broken CSV row with every cell replaced by its length (see redact_strings)."""
    import csv
    import io

    try:
        cells = next(csv.reader(io.StringIO(raw)), [])
    except csv.Error:
        return f"<redacted {len(raw)} chars>"
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow([f"<redacted {len(c)} chars>" for c in cells])
    return buf.getvalue()


def mask_raw_json(raw: str, redact_broken: bool = False) -> str:
    """Masked text of one NDJSON line, valid JSON or not (dead letters keep the raw text).

    A line that parses is masked as a record and written back.  A broken line is masked as
    text, and `"name": "..."`-like pairs in it are blanked by pattern; with `redact_broken`
    (records that carry personal data: the citizen channels) all its strings are dropped.
    """
    try:
        parsed = json.loads(raw)
    except (ValueError, RecursionError):
        parsed = None
    if isinstance(parsed, dict):
        return dumps(mask_record(parsed), compact=True)
    if parsed is not None:
        return dumps(_mask_value(parsed, []), compact=True)
    if redact_broken:
        return redact_strings(raw)
    names = [m["value"] for m in _NAME_VALUE_RE.finditer(raw) if is_name_field(m["key"])]
    text = mask_text(raw)
    text = _NAME_VALUE_RE.sub(
        lambda m: f'"{m["key"]}":"{NAME_MASK}"' if is_name_field(m["key"]) else m.group(0), text
    )
    return blank_names(text, _name_variants(names))


def mask_raw_csv(raw: str, header: list[str] | None, redact_broken: bool = False) -> str:
    """Masked text of one CSV line; with the header, the name columns are blanked.

    A row whose cells do not line up with the header is redacted whole when
    `redact_broken` (a name could sit in any cell of it).
    """
    import csv
    import io

    text = mask_text(raw)
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error:
        rows = []
    broken = not header or len(rows) != 1 or len(rows[0]) != len(header)
    if broken:
        return redact_cells(raw) if redact_broken else text
    assert header is not None
    row = rows[0]
    name_cols = [i for i, h in enumerate(header) if is_name_field(h)]
    names = _name_variants(row[i] for i in name_cols if i < len(row))
    out = [NAME_MASK if i in name_cols else blank_names(v, names) for i, v in enumerate(row)]
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(out)
    return buf.getvalue()


def names_in_raw(raw: str, header: list[str] | None = None) -> list[str]:
    """Names declared in a raw record's name fields (JSON, or a CSV row with its header)."""
    if header is not None:
        import csv

        try:
            row = next(csv.reader([raw]), [])
        except csv.Error:
            return []
        found = {row[i].strip() for i, h in enumerate(header) if is_name_field(h) and i < len(row)}
        return _name_variants(found)
    try:
        parsed = json.loads(raw)
    except (ValueError, RecursionError):
        parsed = None
    if isinstance(parsed, dict):
        return names_in_record(parsed)
    found = {m["value"] for m in _NAME_VALUE_RE.finditer(raw) if is_name_field(m["key"])}
    return _name_variants(found)

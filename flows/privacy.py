"""Personal data is masked at decode, before anything else sees a record.

The Shanghai rules this project follows ask that personal information serve only the purpose
it was collected for and never leak.  Nothing downstream (windows, warnings, tickets, metrics,
dead letters) needs a caller's number, identity card, e-mail or name, so they are removed
here, once.

Replaced by a placeholder in *every* string, free text included:

- Chinese mobile numbers (1[3-9] and nine digits, with or without 0086), in any grouping a
  person types: 3-4-4, 3-3-5, 4-4-3, 3-8, digit by digit, with spaces (one or several,
  ideographic ones too), dashes of any width, dots or slashes between the groups;
- international numbers: '+', a country code and 6-14 more digits with separators or
  parentheses (+86 21 6234 5670, +44 20 7946 0958, +1 (617) 555-0123, (+86)139...);
- landlines with an area code (021-12345678, (021) 1234 5678), and a bare 7-8 digit local
  number when a phone word (电话, 手机, 联系, 致电, tel, phone, call, ...) comes just before it;
- North American numbers written without '+1' (617-201-3471, 1-617-201-3471, (617) 635-4600,
  617.635.4500), as Boston's closure notes give callers' numbers, with or without a phone
  word; with spaces only or as ten digits (617 201 3471, 6172013471) after a phone word, or
  later in the phone word's clause, a name between them ("Please call Mr. Brown at 617 201
  3471", "call the owner at 6172013471"), but for a reference's ("call about case ...");
- 18-digit resident identity numbers (last character may be X, groups may be separated:
  110101 19900307 1245), the old 15-digit ones, any run of 15 or more digits, Chinese
  passports (E or G and eight digits), Hong Kong identity cards (A123456(7)) and US Social
  Security numbers (123-45-6789);
- payment cards' numbers typed in groups (6217 0000 1000 1234 567, 4111-1111-1111-1111) when
  their Luhn check holds, and any number of 8 to 19 digits after a card's or an account's
  word (银行卡号, 卡号, 账号, card, account), grouped or not: "<card-number>";
- phone numbers read out in Chinese numerals, seven to twelve in a row (一三八一二三四五六七八,
  幺三九..., 壹叁捌...);
- e-mail addresses.

A number of 11 digits or more sent as a JSON number (13812345678, or 13812345678.0 as a
spreadsheet's export writes it) is masked as that text would be.

Fields are judged by their key, compared without case, '_', '-' or spaces (`reporterName`
is `reporter_name`):

- fields that hold a person's name (`name`, `caller_name`, `applicant`, `申请人`, ...) are
  dropped, and the dropped names are also blanked wherever else they occur in the same
  record, whatever their case or the spaces inside them (a caller's name repeated in the
  description is the common leak);
- fields that hold contact data (`phone`, `mobile`, `email`, `id_card`, `passport`,
  `bank_card`, ...) are dropped whatever their value looks like, and their values (numbers of
  five digits or more, addresses) are blanked wherever else the record repeats them, whatever
  the separators; in a line kept as raw text (a dead letter) their values are blanked.

Keys are masked as text too: a producer may put data where a key goes (`{"13812345678":
"callback"}`), and two keys masked alike stay apart (`<phone>`, `<phone>#2`).

Keys a producer composes are judged by their words: a key with a phone's, an e-mail's, a
handle's or an identity document's word (`caller_phone`, `homePhone`, `contact_email`,
`wechat_id`, `手机号码`, `电话号码`, `联系方式`, `身份证号码`, `证件号码`), or ending in a name's
(`callerFirstName`, `owner_name`, `业主姓名`, `客户姓名`, `来电人姓名`, `户主`), is such a field.
Keys of things that are not people (`service_name`, `street_name`, `venue_name`, `工单号码`,
`业主委员会`) are kept.

In free text, a name that no field declares is caught where the text says it is one:

- after a cue (我叫; a label with its colon, 是 or 为: 联系人：, 本人是, 姓名为, 来电人：;
  "my/his/her name is", "name:"), a common Chinese surname and one or two more characters
  (not an organisation: 联系人：万科物业), or one to three capitalised words; after a cue that
  may also precede a word (a label written straight before the text, 本人, 来电人; 我是, 业主,
  居民, 车主, 患者, 网格员, ...), only such a name that ends where the clause goes on
  (punctuation, 反映, 来电, 在家, 已, 发现, 需要 ...): "来电人于今日上午来电", "本人马上过来",
  "居民安全隐患", "患者高烧不退" and "网格员马上到场" stay;
  a surname and one or two characters common in given names are a name after any of these
  cues even where the text goes on ("业主张伟配合", "联系人王芳电话"; not "业主配合",
  "居民文明出行");
- a surname given alone (我姓王, 免贵姓欧阳), with the given name after it (我姓王名伟);
- a surname that starts a word before a form of address (王女士, 张先生, 李师傅, 赵阿姨;
  "Mr. Smith", "Ms Lyons"; not "Dr", which in addresses is a Drive): the surname is masked
  and the form of address kept, so "<name>女士反映" still reads, and "保安大爷" (a guard) is
  left alone; a full name before a form is masked whole ("请联系<name>先生", "患者<name>女士"
  for 李明先生, 王芳女士);
- in English, the words of a name in capitals too ("MR. BROWN", "MRS SMITH"; "MS" only with
  its dot, "MISS" not, in a note written in capitals), with a prefix or an apostrophe
  (McDonald, O'Brien), hyphens and the particles of a surname (Smith-Jones, van der Berg), a
  middle initial with its dot or without between a given name and a surname ("John A. Smith",
  "JOHN A SMITH"; after a role or "this is" too, where a capital alone after the cue or
  after the last word stays: "Owner Found A Dog", "Resident Parking Permit A"); in lower
  case only after "my name is" ("my name is john smith", "john a. smith") and one word
  after a dotted title ("Ms. jackson"), and never a word such as "and", "unknown" or "on"
  ("my name is on the lease");
- but capitalised words that name an organisation or a brand are kept: a word such as
  Water, Department, Inc, LLC, Services, Restaurant or Cookies among them or in the
  capitalised words right after them ("Name: Boston Water and Sewer", "Mrs. Fields Cookies"),
  and so is an acronym after a label not written in capitals, a department's ("Contact: DPW",
  "contact: BTD Staff"), where "Contact: John SMITH", "Contact: JOHN" and, in a note in
  capitals, "NAME: SMITH" are names;
- after a person's role (resident, caller, complainant, tenant, homeowner, owner, landlord,
  constituent, neighbor, occupant) or "this is", which also precede a title's or a place's
  words ("Resident Parking Permit", "Caller ID", "Tenant Failed Apt", "This is Main Street"),
  a name in Title case that reads as a person's: two or three words, the first a common given
  name ("Resident Jane Doe", "This is Maria Pontes.") or followed by what a person does
  ("tenant Reginald Featherstone called back", "This is Peter Parker calling"; after the role
  with a colon, "Complainant: John Smith", as it stands), or a common given name alone so
  followed ("this is Mary from Dorchester"); in capitals, where case tells a name from no
  other word, only a common given name, with the words after it that are no words of a note
  ("RESIDENT JOHN SMITH CALLED", "THIS IS MARY FROM DORCHESTER"); never with a word of an
  organisation, a street or a permit among them ("This is Boston Water and Sewer", "Resident
  Services", "THIS IS JOSEPH ST");
- messaging handles after their word (微信, WeChat, vx, wx, QQ, 抖音号, 钉钉, and as people
  write them to slip past filters: 薇信, 威信, V信, 加V, +V, 加微, 扣扣, 企鹅号): "<handle>";
  a WeChat id as WeChat makes it (wxid_k9a8b7c6d5) with or without a word before it.

A name without such a cue ("张三说楼道漏水") cannot be told from ordinary words and is not
claimed to be caught; nor are car plates, which the departments need for parking complaints.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from flows.jsontext import dumps

PHONE_MASK = "<phone>"
ID_MASK = "<id-number>"
CARD_MASK = "<card-number>"
EMAIL_MASK = "<email>"
NAME_MASK = "<name>"
HANDLE_MASK = "<handle>"
DEEP_MASK = "<nested too deeply>"
# Records nest a level or two; a value nested deeper than this is replaced whole, so that a
# hostile line of thousands of brackets (which json.loads accepts) cannot exhaust the stack.
MAX_DEPTH = 32

# Keys whose values are a person's name, as producers spell them.  They are matched after
# normalising (see field_key), so `callerName` and `Caller-Name` count as `caller_name`;
# the sensor decoder also ignores these exact keys instead of rejecting the reading.
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
        "user_name",
        "username",
        "nickname",
        "real_name",
        "realname",
        "applicant",
        "applicant_name",
        "complainant",
        "submitter",
        "visitor",
        "visitor_name",
        "姓名",
        "联系人",
        "联系人姓名",
        "真实姓名",
        "申请人",
        "投诉人",
        "举报人",
        "来电人",
        "反映人",
    }
)

# Keys whose values are contact data whatever their format ("tel": "6234 5671 ext. 8"), with
# the placeholder their value gets where the field cannot simply be dropped.
CONTACT_FIELDS: Mapping[str, str] = {
    **dict.fromkeys(
        (
            "phone",
            "phone_number",
            "mobile",
            "mobile_phone",
            "cellphone",
            "tel",
            "telephone",
            "contact_phone",
            "电话",
            "手机",
            "手机号",
            "联系电话",
        ),
        PHONE_MASK,
    ),
    **dict.fromkeys(("email", "e_mail", "email_address", "邮箱", "电子邮件"), EMAIL_MASK),
    **dict.fromkeys(
        ("wechat", "wechat_id", "weixin", "wx", "微信", "微信号", "qq", "qq_number", "qq号"),
        HANDLE_MASK,
    ),
    **dict.fromkeys(
        (
            "id_card",
            "idcard",
            "id_number",
            "id_no",
            "passport",
            "passport_number",
            "身份证",
            "身份证号",
            "护照",
        ),
        ID_MASK,
    ),
    **dict.fromkeys(
        (
            "bank_card",
            "bank_card_number",
            "card_number",
            "card_no",
            "bank_account",
            "account_number",
            "account_no",
            "银行卡",
            "银行卡号",
            "卡号",
            "银行账号",
        ),
        CARD_MASK,
    ),
}

_KEY_NOISE_RE = re.compile(r"[\s_\-]+")


@functools.lru_cache(maxsize=4096)
def field_key(key: str) -> str:
    """A key as compared with the lists above: `reporterName`, `Reporter-Name` and
    `reporter_name` are all `reportername` (records come from many producers, each with its
    own convention).  Cached: the same few keys come in every record."""
    return _KEY_NOISE_RE.sub("", key.lower())


_NAME_KEYS = frozenset(field_key(k) for k in NAME_FIELDS)
_CONTACT_KEYS = {field_key(k): mask for k, mask in CONTACT_FIELDS.items()}


def is_name_field(key: str) -> bool:
    return field_mask(key) == NAME_MASK


# Keys the lists above do not spell out, told by their words: producers compose their own
# (`caller_phone`, `homePhone`, `contact_email`, `callerFirstName`, `手机号码`, `电话号码`,
# `联系方式`, `业主姓名`, `客户姓名`, `户主`), and a bare local number or a name under such a
# key has no shape that masking its value could catch.  English words are the key's words
# (split at '_', '-', spaces and camelCase); a name is a key ending in "name" after a word of
# a person ("caller", "first", ...), so that `street_name` and `service_name` stay.
_KEY_WORDS_RE = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
_KEY_PHONE_WORDS = frozenset(
    {"phone", "telephone", "tel", "mobile", "cellphone", "fax", "msisdn", "phoneno"}
)
_KEY_EMAIL_WORDS = frozenset({"email", "emailaddress"})
_KEY_HANDLE_WORDS = frozenset({"wechat", "weixin", "wxid", "qq", "whatsapp"})
_KEY_ID_WORDS = frozenset({"idcard", "passport", "ssn"})
_KEY_PERSON_WORDS = frozenset(
    {
        *("caller", "contact", "reporter", "citizen", "customer", "owner", "resident"),
        *("applicant", "complainant", "person", "user", "visitor", "tenant", "landlord"),
        *("requester", "requestor", "submitter", "patient", "holder", "occupant", "member"),
        *("first", "last", "full", "given", "family", "middle", "real", "nick", "sur"),
    }
)
_KEY_NAME_WORDS = frozenset({"firstname", "lastname", "fullname", "surname", "givenname"})
_KEY_CN_ENDS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("姓名", "名字", "户主", "业主", "房东", "租户", "车主", "患者", "访客"), NAME_MASK),
    (("联系人", "来电人", "投诉人", "举报人", "申请人", "反映人", "报修人", "当事人"), NAME_MASK),
)
_KEY_CN_PARTS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("电话", "手机", "座机", "联系方式", "传真"), PHONE_MASK),
    (("邮箱", "电子邮件", "邮件地址"), EMAIL_MASK),
    (("微信", "企鹅号"), HANDLE_MASK),
    (("身份证", "证件号", "护照"), ID_MASK),
    (("银行卡", "银行账号", "卡号"), CARD_MASK),
)


@functools.lru_cache(maxsize=4096)
def _composed_field_mask(key: str) -> str | None:
    """The placeholder of a key told personal by its words (see above), None otherwise."""
    words = [w.lower() for w in _KEY_WORDS_RE.findall(key)]
    for i, word in enumerate(words):
        if word in _KEY_PHONE_WORDS:
            return PHONE_MASK
        if word in _KEY_EMAIL_WORDS or (word == "e" and words[i + 1 : i + 2] == ["mail"]):
            return EMAIL_MASK
        if word in _KEY_HANDLE_WORDS:
            return HANDLE_MASK
        if word in _KEY_ID_WORDS or (word == "id" and words[i + 1 : i + 2] == ["card"]):
            return ID_MASK
        if word in _KEY_NAME_WORDS:
            return NAME_MASK
    if len(words) >= 2 and words[-1] == "name" and words[-2] in _KEY_PERSON_WORDS:
        return NAME_MASK
    if key.isascii():
        return None
    for ends, mask in _KEY_CN_ENDS:
        if key.strip().endswith(ends):
            return mask
    for parts, mask in _KEY_CN_PARTS:
        if any(part in key for part in parts):
            return mask
    return None


def field_mask(key: str) -> str | None:
    """The placeholder for the value of a personal field (a name or contact data), None for
    any other field."""
    norm = field_key(key)
    if norm in _NAME_KEYS:
        return NAME_MASK
    mask = _CONTACT_KEYS.get(norm)
    return mask if mask is not None else _composed_field_mask(key)


def is_personal_field(key: str) -> bool:
    """Whether a field is dropped from a record whatever its value (a name or contact data)."""
    return field_mask(key) is not None


# ---------------------------------------------------------------- numbers and addresses
def _literal_trie(words: Iterable[str]) -> str:
    """A pattern matching any of `words`, as a trie ("我(?:叫|是)|..."): the engine then rejects
    most positions on their first character, where a flat alternation tries every word at every
    position (eight times slower on a record's strings)."""
    tree: dict[str, Any] = {}
    for word in words:
        node = tree
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict[str, Any]) -> str:
        alts = [re.escape(ch) + emit(sub) for ch, sub in sorted(node.items()) if ch]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        return f"(?:{body})?" if "" in node else body

    return emit(tree)


def _word_trie(words: Iterable[str], ignore_case: bool = False) -> str:
    """A pattern matching any of `words` where a word starts (no letter before it), as a trie
    whose branches open with each word's first character, the look-behind for a letter
    following it ("c(?<![a-z]c)(?:aller|ontact)|...").  Why: a pattern that opens with the
    look-behind is tried at every position of the text, one that opens with literal
    characters only where they are (about twice as fast as behind _led_by's look-ahead, on
    Boston's notes as on the hotline's strings).  With `ignore_case`, each first character opens a
    branch in either case and the rest matches in any case."""
    rests: dict[str, list[str]] = {}
    for word in words:
        firsts = {word[0].lower(), word[0].upper()} if ignore_case else {word[0]}
        for first in firsts:
            rests.setdefault(first, []).append(word[1:])
    letters = "A-Za-z" if ignore_case else "a-z"
    branches = []
    for first, rest in sorted(rests.items()):
        tail = _literal_trie(rest)
        if ignore_case and tail:
            tail = f"(?i:{tail})"
        ch = re.escape(first)
        branches.append(f"{ch}(?<![{letters}]{ch}){tail}")
    return "(?:" + "|".join(branches) + ")"


def _led_by(first: Iterable[str], pattern: str) -> str:
    """`pattern` behind a look-ahead for the characters a match can start with.  Why: the
    engine takes no such set from a pattern that starts with a look-behind, a case-blind word
    or a choice of groups, and tries all of it at every position of the text; led by the set,
    it passes over every other position with one test (three to six times faster on a long
    note)."""
    chars = "".join(sorted(set(first)))
    return f"(?=[{chars}])(?:{pattern})"


_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９＋－（）Ｘｘ＠", "0123456789+-()Xx@")
_FULLWIDTH_RE = re.compile("[０-９＋－（）Ｘｘ＠]")
# What people put between digit groups: spaces of any kind (one or several), dashes of any
# width (- ‐ ‑ ‒ – — ― −), dots and slashes.  Up to three of them ("139 - 0014 - 5678").
_SEP_CHARS = r"[\s\-./\u2010-\u2015\u2212]"
_SEP = rf"{_SEP_CHARS}{{0,3}}"
_SEP_SPLIT_RE = re.compile(rf"{_SEP_CHARS}+")
_DATE = r"(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
_ID_18 = rf"[1-9]\d{{5}}{_SEP}(?:18|19|20)\d{{2}}{_SEP}{_DATE}{_SEP}\d{{3}}[\dXx]"
_ID_15 = rf"[1-9]\d{{5}}\d{{2}}{_DATE}\d{{3}}"
# A match must not be glued to more digits: "13812345678" inside a 20-digit number is not a
# phone number.  ID numbers first, so that a mobile-looking run inside one is not half-masked.
_ID_RE = re.compile(rf"(?<!\d)(?:{_ID_18}|{_ID_15})(?!\d)")
# Any long run of digits that is not a plausible number of something else is masked too:
# better an over-masked meter reading than a leaked card number with a typo in its date, or
# a phone number glued to an ID number ("139876501253101061985...") that neither rule takes.
# Chinese passports (E or G and eight digits), only when they stand alone, not inside a
# longer code; Hong Kong identity cards, whose check digit in parentheses is telling enough
# to mask them wherever they are.
_PASSPORT_RE = re.compile(r"(?<![A-Za-z0-9])[EGeg]\d{8}(?![A-Za-z0-9])")
_HK_ID_RE = re.compile(r"(?<!\d)[A-Z]{1,2}\d{6}\([0-9A]\)")
# A US Social Security number as written (123-45-6789): no other number takes that shape.
_SSN_RE = re.compile(_led_by("0123456789", r"(?<![\d\-./])\d{3}-\d{2}-\d{4}(?![\d\-./])"))
# A payment card's number as people type it, in groups ("6217 0000 1000 1234 567", "4111-1111-
# 1111-1111", Amex's 3782 822463 10005): 15 to 19 digits whose Luhn check holds (one run of
# digit groups in ten passes it by chance); or 8 to 19 digits, grouped or not, right after a
# card's or an account's word ("银行卡号：6222 0212 3456 7890 123", "社保卡号 123456789012",
# "card no. 4111 1111 1111 1112").  Looked for in one pass with a long run of digits, which
# is always masked: a pass over every text with a digit costs about a microsecond.  Before the
# phone patterns: a card's middle groups read as a landline ("0212 3456 7890") and would
# leave the rest of the number in the text.
_LONG_OR_CARD_RE = re.compile(
    _led_by(
        "0123456789",
        r"(?<!\d)(?:(?P<long>\d{15,}[Xx]?)"
        r"|(?<![\-./])(?:\d{4}(?:[ \-]\d{3,6}){2,4}|\d{8,14})(?!\d|[\-./]\d))",
    )
)
_CARD_WORDS = (
    r"卡号|银行卡|信用卡|储蓄卡|借记卡|账号|帐号|账户|帐户|(?<![a-z])(?:card|account|acct)"
)
_CARD_WORD_BEFORE_RE = re.compile(rf"(?i)(?:{_CARD_WORDS})[^\d\n，,、。；;!?！？]{{0,10}}$")
_CARD_WORD_RE = re.compile(rf"(?i:{_CARD_WORDS})")
_EMAIL_RE = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
# '+', a country code (never starting with 0, so a time zone "+08:00" or "+0800" is not one)
# and 6-14 more digits, parentheses allowed among the separators: "+1 (617) 555-0123".
_INTL_SEP = r"[\s\-./\u2010-\u2015\u2212()]{0,3}"
_INTL_RE = re.compile(rf"(?<![\d+])\(?\+\s?[1-9]\d{{0,2}}(?:{_INTL_SEP}\d){{6,14}}(?!\d)")
# A mobile number: the separators may fall anywhere, and which of them make a phone number
# is decided by _mobile_shape.
_MOBILE_RE = re.compile(
    rf"(?<![\d+])(?:(?:\+|00)?86{_SEP})?(?P<number>1{_SEP}[3-9](?:{_SEP}\d){{9}})(?!\d)"
)
_LANDLINE_RE = re.compile(
    rf"(?<![\d+])(?:\(0\d{{2,3}}\)\s?|0\d{{2,3}}{_SEP})[2-9]\d{{2,3}}{_SEP}\d{{4}}(?!\d)"
)
# A North American number as Boston's notes write it, without "+1" and often without a phone
# word ("SPOKE TO RESIDENT 617-201-3471", "(617) 635-4500"): area code and exchange start
# with 2-9 (NANP), and the groups are separated, so a case number or an amount is not one.
# Led by their first characters (see _led_by): a leading look-behind hides them from the
# engine, which then tried every position of Boston's long notes (about 2 µs a note each).
_NANP_RE = re.compile(
    _led_by(
        "(123456789",
        r"(?<![\d+\-./])(?:1[\-.])?(?:\([2-9]\d{2}\)\s?|[2-9]\d{2}[\-.\s])[2-9]\d{2}[\-.]\d{4}"
        r"(?!\d|[\-./]\d)",
    )
)
# The same number with spaces only, or as ten digits, is told from readings in a row
# ("250 300 1200") only by a phone word before it ("Tel 617 201 3471", "call back 6172013471"),
# or earlier in its clause (see _PHONE_WORD_IN_CLAUSE_RE).
_NANP_BARE_RE = re.compile(
    _led_by("123456789", r"(?<![\d+])(?:1\s)?(?:[2-9]\d{2}\s[2-9]\d{2}\s\d{4}|[2-9]\d{9})(?!\d)")
)
# A local number without its area code is only told from a date (20260302) or an amount by
# the word before it: a phone word, then a few characters that are not digits and do not end
# the clause ("联系电话：6234 5671", "call me at 62345671").  The placeholder "<phone>" is
# not a phone word: "电话<phone>，日期20260302" keeps its date.  The number is looked for
# first and the word after, in the few characters before it: far quicker than trying the
# words at every position of every string.
_LOCAL_RE = re.compile(rf"(?<!\d)(?:\d{{3,4}}{_SEP}\d{{4}}|\d{{4}}{_SEP}\d{{3}})(?!\d)")
_PHONE_WORDS = r"电话|手机|联系|致电|回电|座机|号码|(?<![a-z])tel|(?<!<)phone|(?<![a-z])call"
_PHONE_WORD_BEFORE_RE = re.compile(rf"(?i)(?:{_PHONE_WORDS})[^\d\n，,、。；;!?！？]{{0,8}}$")
# A North American number may be further from its phone word, when someone is named between
# them ("Please call Mr. Brown at 617 201 3471", "call me Chris Lee 617 594 0572", "give me a
# call to discuss  6173089786"): up to 40 characters that neither hold a digit nor end the
# clause or the sentence (a dot followed by a space, but for the one of a title: "Mr.",
# "Mrs.", "Ms.", "Dr.", "St.").  Not a number that a reference's word comes right before
# ("called about case 6172013471", "ref #617 201 3471"), nor one that goes on in more groups
# ("617 201 3471 2"): a code's.  Only an English phone word is so far-reaching: in Chinese
# text ten digits are an order's or a date's ("联系物业尽快处理漏水 工单 2026030112").
_EN_PHONE_WORDS = r"(?<![a-z])tel|(?<!<)phone|(?<![a-z])call"
_CLAUSE_CHAR = r"[^\d\n，,、。；;!?！？.]|(?<=\bmr|\bms|\bdr|\bst)\.|(?<=\bmrs)\.|\.(?!\s)"
_PHONE_WORD_IN_CLAUSE_RE = re.compile(rf"(?i)(?:{_EN_PHONE_WORDS})(?:{_CLAUSE_CHAR}){{0,40}}$")
_REFERENCE_BEFORE_RE = re.compile(
    r"(?i)(?<![a-z])(?:case|ref|reference|order|ticket|account|acct|id|no\.?|#)\s*[:#.]?\s*$"
)
_MORE_DIGITS_RE = re.compile(rf"{_SEP_CHARS}\d")
# ... and whether a text has a phone word at all, before numbers are looked for after one
_PHONE_WORD_RE = re.compile(_led_by("电手联致回座号TtPpCc", rf"(?i:{_PHONE_WORDS})"))
# A complete timestamp, the commonest string with digits in a record, holds nothing personal.
_TIMESTAMP_RE = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?(?:Z|[+-]\d{2}:?\d{2})?"
)
# Strings without a digit or an '@' hold none of the above: most strings, returned at once.
_MAYBE_PERSONAL_RE = re.compile(r"[\d@＠]")


def _mobile_shape(number: str) -> bool:
    """Whether eleven digits with separators read as one mobile number: groups of three or
    more (139 0014 5678, 139 001 15678, 1390-0125-678) or digit by digit (1 3 9 0 ...).
    Groups of one and two mixed are other numbers in a row: "13.5 12.3 14.2 15.0" is four
    water levels, not a phone number."""
    sizes = {len(g) for g in _SEP_SPLIT_RE.split(number)}
    return min(sizes) >= 3 or sizes == {1}


def _sub_checked(
    pattern: re.Pattern[str],
    text: str,
    accept: Callable[[re.Match[str]], bool | str],
    mask: str,
) -> str:
    """`pattern.sub(mask, text)` for the matches `accept` takes (a placeholder it returns
    instead of True replaces `mask`).  A refused match does not hide a phone number that
    starts inside it: the search resumes one character later."""
    out: list[str] = []
    pos = done = 0
    while (m := pattern.search(text, pos)) is not None:
        if taken := accept(m):
            out += (text[done : m.start()], taken if isinstance(taken, str) else mask)
            pos = done = m.end()
        else:
            pos = m.start() + 1
    if not out:
        return text
    out.append(text[done:])
    return "".join(out)


def _luhn_valid(digits: str) -> bool:
    """Whether a number passes the Luhn check that every payment card's number carries."""
    values = np.frombuffer(digits.encode("ascii"), dtype=np.uint8)[::-1] - ord("0")
    doubled = values[1::2] * 2
    return int(values[::2].sum() + (doubled - 9 * (doubled > 9)).sum()) % 10 == 0


def _long_or_card(text: str, m: re.Match[str]) -> str | bool:
    """The placeholder of a `_LONG_OR_CARD_RE` match in `text`, False when it stays: a long
    run of digits is always masked (a card's after a card's word, else an identity's), other
    digits when a card's word comes before them, or when they are in groups and pass a
    card's Luhn check."""
    start = m.start()
    after_word = _CARD_WORD_BEFORE_RE.search(text, max(0, start - 16), start) is not None
    if m["long"] is not None:
        return CARD_MASK if after_word and len(m["long"]) <= 19 else ID_MASK
    digits = _SEP_SPLIT_RE.sub("", m[0])
    if after_word and len(digits) <= 19:
        return CARD_MASK
    if len(digits) >= 15 and len(digits) != len(m[0]) and _luhn_valid(digits):
        return CARD_MASK
    return False


def _is_mobile(m: re.Match[str]) -> bool:
    """Whether a mobile-number match has a phone number's shape (its 0086 prefix aside)."""
    return _mobile_shape(m["number"])


def _after_phone_word(text: str, m: re.Match[str]) -> bool:
    """Whether a local number in `text` follows a phone word (see _LOCAL_RE)."""
    start = m.start()
    return _PHONE_WORD_BEFORE_RE.search(text, max(0, start - 16), start) is not None


def _nanp_after_phone_word(text: str, m: re.Match[str]) -> bool:
    """Whether a North American number without separators but spaces (see _NANP_BARE_RE)
    follows a phone word: right before it, or earlier in its clause and not as a reference
    (see _PHONE_WORD_IN_CLAUSE_RE)."""
    if _after_phone_word(text, m):
        return True
    start = m.start()
    if _MORE_DIGITS_RE.match(text, m.end()) is not None:
        return False
    if _REFERENCE_BEFORE_RE.search(text, max(0, start - 14), start) is not None:
        return False
    return _PHONE_WORD_IN_CLAUSE_RE.search(text, max(0, start - 48), start) is not None


# What every pattern of mask_text needs at least: an '@' (e-mail), a character beyond ASCII
# (full-width digits are translated, other dashes and spaces are separators), or six digits
# joined only by separators, parentheses or '+' (a Hong Kong card with the check letter A has
# six; every other number more).  Looked for as a digit followed by five or more digits,
# ASCII spaces (what \s is in ASCII), separators, parentheses or '+': a little wider, and
# twice as fast as the exact form.  Keep it so when a pattern is added above.
_SIX_DIGITS_RE = re.compile(r"[0-9][0-9 \t\n\r\f\v\x1c-\x1f\-./()+]{5}")


def nothing_to_mask(text: str) -> bool:
    """True only when `mask_text(text)` is `text` itself, told by one quick search (about
    0.5 µs against 10-30 µs for mask_text on a short text with digits).

    Why: dead letters mask their detail texts ("'pm25' is -83.4, below the least possible
    value 0"), which hold a few digits each, and mask_text tries all its patterns on every
    string with a digit.  False does not mean that something would be masked: call
    mask_text then."""
    return (
        text.isascii()
        and "@" not in text
        and _SIX_DIGITS_RE.search(text) is None
        and _EN_CUE_RE.search(text.lower()) is None  # "my name is ...", "wechat: ..."
    )


_SEP_BYTES = np.frombuffer(b" \t\n\r\f\v\x1c\x1d\x1e\x1f-./)", dtype=np.uint8)
_NEVER_BYTES = np.frombuffer(b"(+@", dtype=np.uint8)
_OTHER, _DIGIT, _SEP_CLASS, _NEVER = 0, 1, 2, 3


def _digit_layout_clear(layout: bytes) -> list[tuple[int, tuple[str, ...]]] | None:
    """For one layout of characters (a class per place: other, digit, separator), the
    places whose first digit decides (with the digits it may not be), or None when some
    pattern could match whatever the digits are.  See `unmaskable_ids`."""
    runs: list[list[tuple[int, int]]] = [[]]  # per run of digits and separators: blocks
    place = 0
    while place < len(layout):
        kind = layout[place]
        if kind == _OTHER:
            runs.append([])
        elif kind == _DIGIT:
            start = place
            while place + 1 < len(layout) and layout[place + 1] == _DIGIT:
                place += 1
            runs[-1].append((start, place + 1 - start))
        place += 1
    checks: list[tuple[int, tuple[str, ...]]] = []
    for blocks in runs:
        if sum(n for _, n in blocks) >= 15 or any(n >= 8 for _, n in blocks):
            return None  # identity numbers, long digit runs, passports
        for i, (start, _) in enumerate(blocks):
            total = 0
            for _, n in blocks[i:]:
                total += n
                if total in (7, 8):  # a local number (when a phone word comes before)
                    return None
                avoid = ("0",) * (10 <= total <= 12) + ("1",) * (total == 11)
                avoid += ("8",) * (total == 13)  # landlines; mobiles, with 86 before
                if avoid:
                    checks.append((start, avoid))
    return checks


def unmaskable_ids(ids: np.ndarray) -> np.ndarray:
    """Which ids of a fixed-width bytes array (numpy S) `mask_text` provably leaves as they
    are, told by where their digits are, not by running the patterns on each.

    Why: a faulty fleet's dead letters each carry a sensor id ("AQ-310105-000002") with
    enough digits that mask_text tries all its patterns (about 5 µs an id).  A mask_text
    pattern matches only digits joined by separators (`_SIX_DIGITS_RE`'s characters), from
    a group's first digit to a group's last (its look-arounds refuse a digit on either
    side), or needs '(', '+', '@' or a character beyond ASCII.  Among the groups of one such
    run: one of 8 digits or more, or 15 in all, may be an identity or passport number; 7 or
    8 in a row of groups a local number; 10-12 starting with 0 a landline; 11 starting with
    1, or 13 starting with 8 (86 and the number), a mobile.  Ids with none of those are
    left as they are; the others are False here, not necessarily masked (ask mask_text).
    Keep it so when a pattern is added above."""
    ids = np.ascontiguousarray(ids)
    out = np.zeros(ids.shape[0], dtype=bool)
    if ids.dtype.kind != "S" or ids.dtype.itemsize == 0 or ids.shape[0] == 0:
        return out
    chars = ids.view(np.uint8).reshape(ids.shape[0], ids.dtype.itemsize)
    layout = np.full(chars.shape, _OTHER, dtype=np.uint8)
    layout[(chars >= ord("0")) & (chars <= ord("9"))] = _DIGIT
    layout[np.isin(chars, _SEP_BYTES)] = _SEP_CLASS
    layout[np.isin(chars, _NEVER_BYTES) | (chars >= 128)] = _NEVER
    shapes, which = np.unique(
        np.ascontiguousarray(layout).view(f"V{layout.shape[1]}").ravel(), return_inverse=True
    )
    which = np.asarray(which).ravel()
    for s, shape in enumerate(shapes.tolist()):
        if _NEVER in shape:
            continue
        checks = _digit_layout_clear(shape)
        if checks is None:
            continue
        rows = which == s
        for place, avoid in checks:
            for digit in avoid:
                rows &= chars[:, place] != ord(digit)
        out |= rows
    # a cue word for a name or a handle ("QQ12345", "WX-...") or a card's word ("card 1234
    # 5678") is told by its letters, not its digits: such ids are left to mask_text
    for i in np.flatnonzero(out):
        id_text = ids[i].decode("latin-1")
        if _EN_CUE_RE.search(id_text.lower()) is not None or _CARD_WORD_RE.search(id_text):
            out[i] = False
    return out


# A phone number read out in Chinese numerals ("电话一三八一二三四五六七八", 幺 for one as on
# the phone, 壹贰叁 as on a form): seven to twelve of them in a row are no date or amount,
# which have 年, 月, 十, 百 or 万 between their digits.
_CN_NUMERALS = "〇零幺一二三四五六七八九壹贰叁肆伍陆柒捌玖"
_CN_NUMERAL_PHONE_RE = re.compile(
    _led_by(_CN_NUMERALS, rf"(?<![{_CN_NUMERALS}])[{_CN_NUMERALS}]{{7,12}}(?![{_CN_NUMERALS}])")
)


def mask_text(text: str) -> str:
    """The text with phone numbers, identity and passport numbers, e-mail addresses,
    messaging handles and cued names (see the module docstring) replaced by placeholders.
    Runs on every string of every citizen record, so the common cases are cheap: a string
    with no digit or '@' is only searched for a cue word, a timestamp not at all."""
    if _CN_NUMERAL_PHONE_RE.search(text) is not None:
        text = _CN_NUMERAL_PHONE_RE.sub(PHONE_MASK, text)
    if _MAYBE_PERSONAL_RE.search(text) is None:
        return mask_cued(text)
    if _TIMESTAMP_RE.fullmatch(text):
        return text
    return mask_cued(_mask_numbers(text))


def _mask_numbers(text: str) -> str:
    """Phone, identity and passport numbers and e-mail addresses masked."""
    if _FULLWIDTH_RE.search(text):
        text = text.translate(_FULLWIDTH_DIGITS)
    if "@" in text:  # first: an address may be all digits ("13812345678@qq.com")
        text = _EMAIL_RE.sub(EMAIL_MASK, text)
    text = _ID_RE.sub(ID_MASK, text)
    text = _sub_checked(_LONG_OR_CARD_RE, text, lambda m: _long_or_card(text, m), ID_MASK)
    text = _PASSPORT_RE.sub(ID_MASK, text)
    if "-" in text:
        text = _SSN_RE.sub(ID_MASK, text)
    if "(" in text:
        text = _HK_ID_RE.sub(ID_MASK, text)
    if "+" in text:
        text = _INTL_RE.sub(PHONE_MASK, text)
    text = _sub_checked(_MOBILE_RE, text, _is_mobile, PHONE_MASK)
    text = _LANDLINE_RE.sub(PHONE_MASK, text)
    if "-" in text or "." in text:  # (its last separator is one of them)
        text = _NANP_RE.sub(PHONE_MASK, text)
    if _PHONE_WORD_RE.search(text) is None:  # (what follows needs one: 99% of strings go)
        return text
    text = _sub_checked(_NANP_BARE_RE, text, lambda m: _nanp_after_phone_word(text, m), PHONE_MASK)
    return _sub_checked(_LOCAL_RE, text, lambda m: _after_phone_word(text, m), PHONE_MASK)


# ---------------------------------------------------------------- cued names and handles
# The commonest Chinese surnames (about nine people in ten carry one of them) and the compound
# ones.  A cue word is not enough on its own: "我是小区居民" has a cue and no name; a name starts
# with a surname.
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛"
    "郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦"
    "俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房"
    "滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应"
    "臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝"
)
_COMPOUND_SURNAMES = (
    "欧阳",
    "司马",
    "上官",
    "诸葛",
    "东方",
    "皇甫",
    "尉迟",
    "公孙",
    "慕容",
    "令狐",
    "长孙",
    "宇文",
    "司徒",
    "夏侯",
    "端木",
    "独孤",
    "南宫",
    "西门",
    "轩辕",
    "呼延",
    "万俟",
    "闻人",
    "澹台",
    "公冶",
    "太史",
    "申屠",
    "钟离",
    "百里",
)
_SURNAME = f"(?:{_literal_trie(_COMPOUND_SURNAMES)}|[{_SURNAMES}])"
# Characters that follow a name in a report rather than belong to it ("张三反映", "李四在家"):
# a given name stops before them.  Better "<name>映" now and then than a leaked given name,
# but most names end cleanly here.  "某" ("刘某") is already anonymous.
_AFTER_NAME = (
    "某反来去投举说讲称在住于的地得是为有要想向跟和与及等对把被给让请已曾也都就还又电打先女师老阿家"
)
# Characters that end a place name: what precedes them is a place, not a person ("居民徐汇区
# ...", "欧阳路街道": 徐 and 欧阳 are surnames too).  They never end a given name.
_PLACE_END = "区路街镇村县市省道号楼室弄巷"
_GIVEN = rf"(?:(?![{_AFTER_NAME}{_PLACE_END}])[\u3400-\u9fff])"
_CN_NAME = rf"{_SURNAME}{_GIVEN}{{1,2}}(?![{_PLACE_END}])"
# Words after which a name follows at once ("我叫张三") ...
_CN_CALLED_WORDS = ("我叫", "名叫", "叫做")
# ... words after which a name follows as a field's value ("联系人：", "本人是", "姓名为"), and
# may follow at once ("来电人张三反映"), where they may also be followed by a word
# ("来电人于今日上午来电", "本人马上过来": 于 and 马 are surnames), so a name there must end
# where a clause goes on, as after the weak cues below ...
_CN_CUE_WORDS = (
    "本人",
    "姓名",
    "名字",
    "联系人",
    "来电人",
    "来访人",
    "反映人",
    "投诉人",
    "举报人",
    "申请人",
    "报修人",
    "报警人",
    "求助人",
    "当事人",
)
# ... and words after which a name may follow, or a word ("居民王建国反映" but "居民安全隐患",
# "住户车位被占", "我是周边居民", "患者高烧不退", "网格员马上到场"): a name after them must end
# where a clause goes on (punctuation, or a verb of reporting such as 反映, 来电, 在家, 已).
_CN_WEAK_CUE_WORDS = (
    "我是",
    "业主",
    "户主",
    "租户",
    "住户",
    "市民",
    "居民",
    "车主",
    "房东",
    "家属",
    "患者",
    "网格员",
)
_NAME_ENDS = (
    r"[，,。.、;；:：\s!！?？()（）]|$"
    r"|反映|来电|致电|投诉|举报|报修|称|说|表示|要求|希望|诉求|在|家|住|已"
    r"|发现|需要|巡查|发烧|咨询|询问|看到|到场"
)
# ... and forms of address that follow a surname ("王女士", "张师傅").
_ADDRESS_FORMS = (
    "先生",
    "女士",
    "小姐",
    "阿姨",
    "大爷",
    "大妈",
    "大娘",
    "大姐",
    "大哥",
    "师傅",
    "老师",
    "同志",
    "奶奶",
    "爷爷",
    "老伯",
    "伯伯",
    "叔叔",
    "婆婆",
)
# A surname before a form of address starts a word: at the start, after a non-Chinese
# character, or after a word that comes before a person ("联系王女士", "一位李阿姨"); not
# inside one ("保安大爷", "门卫大爷" are a guard, 安 and 卫 are surnames too).
_FORM_START = (
    r"(?:(?<![\u3400-\u9fff])|(?<=[的请找和与跟向给是让叫被对位名系电民户主人称会委区楼壁]))"
)
# A name in pinyin after a Chinese cue ("联系人：Wang Wei"): capitalised syllables.
_PINYIN_NAME = r"[A-Z][a-z]+(?:[ \-][A-Z][a-z]+){0,2}(?![A-Za-z])"
# An organisation where a name could be ("联系人：万科物业", "报修人：徐汇区房管局" is a place
# already): a word of up to three characters before one of these is not a person.
_CN_ORG_ENDS = (
    "物业", "公司", "集团", "中心", "医院", "学校", "银行", "超市", "酒店", "饭店", "商场",
    "小区", "工地", "门店",
)  # fmt: skip
_NOT_AN_ORG = rf"(?![\u3400-\u9fff]{{0,3}}(?:{_literal_trie(_CN_ORG_ENDS)}))"
_CN_NAME_RE = re.compile(
    _led_by(
        {w[0] for w in (*_CN_CALLED_WORDS, *_CN_CUE_WORDS)},
        rf"(?P<cue>{_literal_trie(_CN_CALLED_WORDS)}[:：\s]*"
        rf"|{_literal_trie(_CN_CUE_WORDS)}(?:[是为叫][:：\s]*|[:：\s]+))"
        rf"{_NOT_AN_ORG}(?:{_CN_NAME}|{_PINYIN_NAME})",
    )
)
# Words after a weak cue that start with a surname and end a clause as a name would, but
# that are common words ("保障患者安全，", "患者高龄，", "联系网格员和物业，": 安, 高 and 和
# are surnames).
_CN_NOT_NAMES = (
    "安全", "高龄", "高烧", "高热", "高度", "高兴", "全身", "全部", "全家", "全体", "全天",
    "方面", "方式", "方便", "和", "马上", "常年", "常常", "时常", "时间", "明天", "明日",
    "明显", "万一", "单位", "曾经", "曾多",
)  # fmt: skip
# ... and words that start with a surname and a character common in given names, which the
# rule for a name going on without a break (_CN_NAME_GOES_ON_RE) would take ("住户单元门",
# "居民文明出行").
_CN_NOT_NAMES_GOING_ON = ("单元", "文明", "和平", "安康", "安宁", "华侨", "东方", "林业")
_CN_WEAK_NAME_RE = re.compile(
    rf"(?P<cue>{_literal_trie((*_CN_WEAK_CUE_WORDS, *_CN_CUE_WORDS))}[:：\s]*)"
    rf"(?!{_literal_trie(_CN_NOT_NAMES)}){_NOT_AN_ORG}"
    rf"(?:{_CN_NAME}|{_PINYIN_NAME})(?={_NAME_ENDS})"
)
# A surname given alone ("我姓王", "免贵姓欧阳") says who the caller is as much as a full name
# would on a street's hotline, and is masked with the given name that may follow it ("我姓王名伟",
# "我姓王，名叫王伟").  Any character after these words is a surname, a rare one most of all.
_CN_SURNAME_CUE_WORDS = ("我姓", "本人姓", "免贵姓")
_CN_SURNAME_RE = re.compile(
    rf"(?P<cue>{_literal_trie(_CN_SURNAME_CUE_WORDS)}[:：\s]*)(?!名)"
    rf"(?:{_literal_trie(_COMPOUND_SURNAMES)}|[\u3400-\u9fff])"
    rf"(?:[，,\s]*名(?:字?[叫是为])?{_GIVEN}{{1,2}})?"
)
_FORM_NAME_RE = re.compile(
    _led_by(
        _SURNAMES + "".join(c[0] for c in _COMPOUND_SURNAMES),
        rf"{_FORM_START}{_SURNAME}(?={_literal_trie(_ADDRESS_FORMS)})",
    )
)
# A full name before a form of address ("请联系李明先生", "业主张伟先生配合", "患者王芳女士",
# "网格员李强师傅") is masked whole, whatever follows the form: the surname rule above would
# leave it, as a given name is no form.  The name starts a word as there, or follows a cue
# (者, 员, 属: 患者, 网格员, 家属).
_FULL_FORM_NAME_RE = re.compile(
    _led_by(
        _SURNAMES + "".join(c[0] for c in _COMPOUND_SURNAMES),
        rf"(?:{_FORM_START}|(?<=[者员属]))(?!{_literal_trie(_CN_NOT_NAMES)}){_SURNAME}"
        rf"{_GIVEN}{{1,2}}(?={_literal_trie(_ADDRESS_FORMS)})",
    )
)
# Characters common in given names (about nine given names in ten are made of them), and few
# that start an ordinary word after a surname's character (not 全, 心, 功, 时, 天: 安全, 安心,
# 成功, 同时, 明天).  After a cue, a surname and one or two of them are a name even where the
# text goes on without a break ("业主张伟配合", "联系人王建国电话"), where _CN_WEAK_NAME_RE
# needs the clause to end; the name ends at the first character that is not one of them.
_COMMON_GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红玲芬燕兰凤洁梅琳云莲雪荣爱香"
    "瑞佳嘉琼珍莉婷倩颖瑶怡丹蓉君琴薇梦岚馨悦冰欣晓欢芸菲宇浩亮斌鹏翔旭泽晨辉峰俊毅"
    "波龙彬帅辰飞鑫坤凯健建国庆春东海林军兵宏志德福贵祥胜利发成永新正斌锋晶晶娇媛"
)
_CN_NAME_GOES_ON_RE = re.compile(
    rf"(?P<cue>{_literal_trie((*_CN_WEAK_CUE_WORDS, *_CN_CUE_WORDS))}[:：\s]*)"
    rf"(?!{_literal_trie((*_CN_NOT_NAMES, *_CN_NOT_NAMES_GOING_ON))}){_NOT_AN_ORG}"
    rf"{_SURNAME}[{_COMMON_GIVEN}]{{1,2}}(?![{_PLACE_END}{_COMMON_GIVEN}])"
)

# English.  ("I am" and "I'm" are no cues: "I'm Outside City Hall", "I am Calling About the
# tree"; nor is "called": "called Customer Service Dept".)
_EN_CUES = r"(?i:(?:my|his|her)\s+name\s+is|name\s*[:：]|contact\s*[:：])"
# Titles: "Mr. Brown", "Mr Brown", "Mr.Brown", and in capitals "MR. BROWN", "MRS SMITH"; but
# "MS" only with its dot and "MISS" not at all, which in a note written in capitals are
# schools ("MS  HS") and a verb.  Not "Dr": in addresses it is a Drive ("22 Parkside Dr").
_EN_TITLE = r"\b(?:Mrs?|Ms|Miss|MRS?|MS(?=\.))(?:\.\s*|\s+)"
_EN_DOTTED_TITLE = r"\b(?:Mrs?|Ms)\.\s*"
# Words that never are a name, though a cue or a title may come before them ("Mr. and Mrs.",
# "Name: unknown", "my name is on the lease"); compared without case.  No word here may be a
# name too: not "Will", "Mark", "May", "Young", "White".
_EN_NOT_NAME_WORDS = (  # noqa: SIM905 - a word list, a few words a line
    "a an the and or but nor not no none na unknown anonymous unk is was are were be been "
    "being am i im me my mine we us our you your he him his she her hers it its they them "
    "their this that these those there here who whom which what on in at of for to from with "
    "by as into about also still just already please thanks thank hi hello dear calling "
    "writing said says stated called asked has had have did does do spelled misspelled listed "
    "wrong incorrect same see resident owner tenant caller customer constituent"
).split()
_EN_NOT_NAME = rf"(?!(?i:{_literal_trie(_EN_NOT_NAME_WORDS)})(?![A-Za-z'’]))"
# A word of a name: capitalised ("Smith"), with a capital inside after a prefix ("McDonald",
# "MacArthur", "DeShawn", "O'Brien", "D'Angelo"), or in capitals ("BROWN", "O'BRIEN")
_EN_WORD = (
    rf"{_EN_NOT_NAME}(?:[A-Z]['’]|[A-Z][a-z]{{1,2}}(?=[A-Z][a-z]))?[A-Z](?:[a-z]+|[A-Z]+)"
    r"(?![A-Za-z])"
)
# ... and up to three of them, joined by a space or a hyphen ("Smith-Jones"), the particles of
# a surname between them ("van der Berg", "Lopez de la Cruz"), and a middle initial, with its
# dot or without, where another word of the name follows it ("John A. Smith", "JOHN A SMITH";
# not a bare "I", which is a word: "Contact: John I will call")
_EN_PARTICLE = r"(?:van|von|der|den|de|del|della|di|da|du|la|le|ter|ten)\s"
_EN_INITIAL = r" (?:[A-Z]\.|[A-HJ-Z])"
_EN_NAME = (
    rf"(?:{_EN_PARTICLE}){{0,2}}{_EN_WORD}"
    rf"(?:(?:{_EN_INITIAL})?[ \-](?:{_EN_PARTICLE}){{0,2}}{_EN_WORD}){{0,2}}"
)
# A name in lower case is one only where nothing but a name can follow: after "my name is"
# ("my name is john smith", "my name is john Smith"; an initial with its dot, "john a. smith"),
# and a single word after a title with its dot ("Ms. jackson").
_EN_LOWER_WORD = rf"{_EN_NOT_NAME}[a-z]+(?:['’][a-z]+)?(?![A-Za-z])"
_EN_LOWER_NAME = (
    rf"{_EN_LOWER_WORD}(?:(?: [A-Za-z]\.)?[ \-](?:{_EN_PARTICLE}){{0,2}}"
    rf"(?:{_EN_WORD}|{_EN_LOWER_WORD})){{0,2}}"
)
_EN_NAME_RE = re.compile(
    _led_by(
        "CHMNchmn",  # contact, his/her/my name is, name, and the titles
        rf"(?P<cue>{_EN_CUES}\s*(?:{_EN_TITLE})?|{_EN_TITLE})(?P<name>{_EN_NAME})"
        rf"|(?P<lower_cue>(?i:(?:my|his|her)\s+name\s+is)\s*)(?P<lower_name>{_EN_LOWER_NAME})"
        rf"|(?P<title>{_EN_DOTTED_TITLE})(?P<title_name>{_EN_LOWER_WORD})",
    )
)
# Words that make the capitalised words they are part of an organisation or a brand, not a
# person ("Name: Boston Water and Sewer", "Mrs. Fields Cookies", "Name: Acme Towing LLC"),
# compared without case.  No word here may be a common surname too: not "Hall", "Church",
# "Park", "Banks".
_EN_ORGANISATION_WORDS = frozenset(
    (  # noqa: SIM905 - a word list, a few words a line
        "water sewer sewerage department departments dept inc llc ltd co corp corporation "
        "company authority service services store stores shop restaurant restaurants cafe "
        "bakery cookies pizza market supermarket bank hospital clinic school schools academy "
        "university college center centre association assoc club foundation group hotel "
        "housing commission office agency trust realty management construction contractors "
        "plumbing electric gas energy transit transportation works utilities utility partners "
        "associates bros sons enterprises industries holdings properties towing auto motors "
        "insurance city county council board committee police fire parks library museum salon "
        "pharmacy liquors deli grill kitchen pub diner tavern cleaners grid"
    ).split()
)
# the capitalised words that go on after a name ("Mrs. Fields' Cookies", "Smith and Sons")
_EN_NAME_GOES_ON_RE = re.compile(r"(?:['’]s?)?(?:(?:[ \-]|\s+(?:and|&)\s+)[A-Z][A-Za-z]*){1,3}")
_LATIN_WORD_RE = re.compile(r"[A-Za-z]+")


def _names_an_organisation(name: str, text: str, end: int) -> bool:
    """Whether a name after a cue or a title is an organisation's or a brand's: it or the
    capitalised words that go on after it hold a word such as Water, Department or Cookies."""
    goes_on = _EN_NAME_GOES_ON_RE.match(text, end)
    words = _LATIN_WORD_RE.findall(name if goes_on is None else name + goes_on.group(0))
    return any(w.lower() in _EN_ORGANISATION_WORDS for w in words)


# An acronym after a label not written in capitals names a department or an organisation,
# alone or before its capitalised words ("Contact: DPW", "contact: BTD Staff"), not a person
# ("Contact: John SMITH"; "NAME: SMITH" in a note in capitals, "Contact: JOHN").
_ACRONYM_NAME_RE = re.compile(r"(?P<acronym>[A-Z]{2,6})(?:[ \-][A-Z][a-z][A-Za-z]*)*")
_EN_LABEL_RE = re.compile(rf"{_EN_CUES}\s*")  # a cue that is a label alone, without a title


def _names_a_department(m: re.Match[str]) -> bool:
    """Whether a name after a label ("name:", "contact:", "my name is") is an acronym: a
    department's or an organisation's (see _ACRONYM_NAME_RE).  (Told after the match, as
    groups for the label in _EN_NAME_RE made it a third slower.)"""
    acronym = _ACRONYM_NAME_RE.fullmatch(m["name"])
    if acronym is None or acronym["acronym"].lower() in _EN_GIVEN_NAMES:
        return False
    cue = m["cue"]
    return cue.upper() != cue and _EN_LABEL_RE.fullmatch(cue) is not None


def _mask_english_name(m: re.Match[str]) -> str:
    """An English name after its cue or title masked, the cue kept; an organisation's name
    or a department's acronym kept whole."""
    if m["name"] is not None:
        if _names_an_organisation(m["name"], m.string, m.end()) or _names_a_department(m):
            return m.group(0)
        return m["cue"] + NAME_MASK
    return (m["lower_cue"] or m["title"]) + NAME_MASK


# Cues that may also precede a word: a person's role in a report ("Resident Jane Doe called",
# "spoke with tenant Maria Lopez", "Complainant: John Smith", "Property owner Adrian Mclean
# does not want ...") and a caller introducing themselves ("This is Peter Parker calling",
# "this is Mary from Dorchester").  After them come as often the words of a title or a
# department ("Resident Parking Permit", "Tenant Failed Apt", "Constituent  National Grid",
# "This is Main Street flooding", "This is Brookline."), so the name is taken never with a
# word of an organisation, a place or a permit among its words, and in Title case only:
# - two words or more ("Jane Doe"), the first of them a common given name (_EN_GIVEN_NAMES),
#   or followed by what a person does (called, said, stated, reported, wants ...; after
#   "this is": calling, speaking, from, with, here), or after the role with a colon;
# - one word, a common given name, so followed or after the role with a colon.
# In capitals ("RESIDENT JOHN SMITH CALLED", "THIS IS MARY FROM DORCHESTER") case tells a
# name from no other word, so the first word must be a common given name, always, and the
# words after it (a surname, a middle name) are the name's only while they are not words of
# a note (_EN_CAPS_NOT_SURNAME_WORDS: "JOHN CALLED", "MARY FROM"); a given name alone, so
# followed or after the role with a colon, as above.
_EN_ROLE_WORDS = (
    "resident", "caller", "complainant", "tenant", "homeowner", "owner", "landlord",
    "constituent", "neighbor", "neighbour", "occupant",
)  # fmt: skip
_EN_WEAK_CUE_WORDS = (*_EN_ROLE_WORDS, "this is")
# A word of such a name: capitalised, not in capitals ("Smith", "McDonald", "O'Brien")
_EN_TITLE_CASE_WORD = (
    rf"{_EN_NOT_NAME}(?:[A-Z]['’]|[A-Z][a-z]{{1,2}}(?=[A-Z][a-z]))?[A-Z][a-z]+(?![A-Za-z])"
)
# ... and in capitals: a given name's word, then up to two words of two letters or more
# ("O'BRIEN", "SMITH-JONES"), a surname's particles before them ("MARIA DE LA CRUZ")
_EN_CAPS_WORD = r"[A-Z](?:['’][A-Z])?[A-Z]+(?:-[A-Z]{2,})?(?![A-Za-z])"
_EN_CAPS_PARTICLE = r"(?:VAN|VON|DER|DEN|DE|DEL|DELLA|DI|DA|DU|LA|LE)\s"
_EN_CAPS_MORE = rf"[ \-](?:{_EN_CAPS_PARTICLE}){{0,2}}{_EN_CAPS_WORD}"
_EN_WEAK_CUE_PATTERN = _word_trie(_EN_WEAK_CUE_WORDS, ignore_case=True)
_EN_WEAK_NAME_RE = re.compile(
    rf"(?P<cue>{_EN_WEAK_CUE_PATTERN}"
    r"(?:\s*(?P<colon>[:：])\s*|[ \t]{1,2}))"
    rf"(?:(?P<name>{_EN_TITLE_CASE_WORD}"
    rf"(?:(?:{_EN_INITIAL})?[ \-](?:{_EN_PARTICLE}){{0,2}}{_EN_TITLE_CASE_WORD}){{0,2}})"
    rf"|(?P<given>[A-Z]{{2,}})(?![A-Za-z'’])"
    rf"(?:(?:{_EN_INITIAL})?(?P<second>{_EN_CAPS_MORE}))?(?P<third>{_EN_CAPS_MORE})?)"
)
_EN_WEAK_CUE_RE = re.compile(_EN_WEAK_CUE_PATTERN)  # (where lower case moved the places)
# Common given names of Boston's and America's callers, compared in lower case; none that is
# also a common word in Title case ("Will", "May", "Mark", "Bill", "Frank", "Grace", "Hope",
# "June", "Ray", "Guy", "Jack", "Rose", "Christian"): after those a name needs what a
# person does.
_EN_GIVEN_NAMES = frozenset(
    (  # noqa: SIM905 - a word list, a few words a line
        "aaron abigail adam adrian ahmed aidan aiden alan albert alejandro alex alexander "
        "alexandra alexis alfred ali alice alicia alison allison alyssa amanda amber amy ana "
        "andre andrea andrew angela angelica anita ann anna anne annie anthony antonio arthur "
        "ashley austin barbara benjamin betty beverly bobby bonnie brandon brenda brendan brian "
        "bridget brittany bruce bryan caitlin carl carla carlos carmen carol carole caroline "
        "carolyn catherine cathy charles charlene charlie charlotte cheryl chris christina "
        "christine christopher cindy claire claudia colleen connie connor craig crystal cynthia "
        "dale daniel danielle danny darlene david deborah debra declan denise dennis derek diana "
        "diane donald donna doris dorothy douglas dylan earl edward eileen elaine eleanor elena "
        "elijah elizabeth ellen emily emma eric erica erin ernest esther ethan eugene evan evelyn "
        "fatima felix fernando fiona florence frances francis francisco fred frederick gabriel "
        "gail gary george gerald gina glenn gloria gregory hannah harold harry heather helen "
        "henry howard ian irene isaac isabel isabella jacob jacqueline james jamie jane janet "
        "janice jason jasmine javier jean jeffrey jennifer jenny jeremy jerry jesse jessica jill "
        "jim jimmy joan joanne joe joel john johnny jon jonathan jorge jose joseph joshua joyce "
        "juan judith judy julia julian julie justin karen katherine kathleen kathryn kathy katie "
        "kayla keith kelly kenneth kevin kieran kimberly kristen kristin kyle larry laura lauren "
        "lawrence leah leonard leslie linda lisa logan lori louis louise lucas lucia lucy luis "
        "luke madison manuel margaret maria marie marilyn mario marisol martha martin marvin mary "
        "matthew maureen megan meghan melanie melissa michael michelle miguel mohammed molly "
        "monica muhammad nancy natalie nathan nicholas nicole noah nora norma norman olivia "
        "oscar owen pamela patricia patrick paul paula pedro peggy peter philip phyllis rachel "
        "rafael ralph ramon randy raymond rebecca regina renee ricardo richard rita robert "
        "roberto robin roger ronald rosa ruth ryan samantha samuel sandra sara sarah scott sean "
        "sergio sharon sheila shirley siobhan sofia sophia stanley stephanie stephen steven "
        "susan sylvia tamara teresa terry theresa thomas timothy tina todd tony tracy tyler "
        "valerie vanessa victor victoria vincent virginia walter wanda wayne wendy william "
        "willie yolanda zachary"
    ).split()
)
# Words that make capitalised words after such a cue a title's, a place's or a permit's
# ("Resident Parking Permit", "This is Main Street"), besides an organisation's.
_EN_NOT_PERSON_WORDS = _EN_ORGANISATION_WORDS | frozenset(
    (  # noqa: SIM905 - a word list, a few words a line
        "street st avenue ave road rd boulevard blvd parkway pkwy highway hwy terrace plaza "
        "square sq wharf circle drive place lane way court ct row park playground bridge "
        "parking permit permits sticker card id portal request requests complaint complaints "
        "issue issues notice letter info information program zone rights award found failed "
        "occupied reports call pl ter terr ln cir pk dr hts heights fwy expy river airport "
        "station tunnel mall area course garden gardens contracting"
    ).split()
)
_EN_DOES_WORDS = (
    "called", "calls", "calling", "phoned", "said", "says", "stated", "states", "reported",
    "reports", "requested", "requests", "asked", "asks", "complained", "complains", "explained",
    "claims", "claimed", "wants", "wanted", "would", "does", "did", "needs", "spoke", "left",
    "lives", "indicated", "mentioned", "informed",
)  # fmt: skip
_EN_INTRO_WORDS = (*_EN_DOES_WORDS, "speaking", "from", "with", "here")
# (in any case: "Jane Doe called", "RESIDENT JOHN CALLED", "THIS IS MARY FROM DORCHESTER")
_EN_ROLE_GOES_ON_RE = re.compile(rf"(?i),?\s+{_literal_trie(_EN_DOES_WORDS)}(?![a-z])")
_EN_INTRO_GOES_ON_RE = re.compile(rf"(?i),?\s+{_literal_trie(_EN_INTRO_WORDS)}(?![a-z])")
# Words that in a note in capitals come after a given name but are no surname: the words
# that are never a name, what a person does, the roles, and the words that follow a role or
# a given name most in Boston's notes ("OWNER WILL THAW", "CALLER CAME OUT", "JIM HENNESSY
# CHECKED", "MICHAEL SOMERS SENIOR CIVIL ENGINEER"), compared in lower case.  Not a common
# surname ("Brown", "Young", "King", "Hall", "Park"): those names are masked, a word more or
# less.
_EN_CAPS_NOT_SURNAME_WORDS = (
    frozenset(_EN_NOT_NAME_WORDS)
    | frozenset(_EN_INTRO_WORDS)
    | frozenset(_EN_ROLE_WORDS)
    | frozenset(
        (  # noqa: SIM905 - a word list, a few words a line
            "will can could should shall may might must wont cant doesnt dont didnt isnt wasnt "
            "has is was were be been being am are had have do did does done get gets got go "
            "goes went gone come comes came give gives gave take takes took taken told tells "
            "sent put made make makes need needed wanted want prefer believes believed "
            "understood understands agreed agrees contacted notified observed saw sees noted "
            "stating reporting requesting asking explaining complaining regarding regards re "
            "concerning if so because since until after before over under up down out off "
            "back again also only just not never no yes all any some each every more most "
            "other both such very too today yesterday tonight tomorrow now then when where "
            "why how who an a the and or but nor of on in at to for by as into onto about "
            "near next behind across outside inside there here this that it he she they we "
            "his her their its our checked directed deemed transferred translated help helped "
            "investigate investigated inspected responded confirmed removed repaired fixed "
            "cleaned visited stopped arrived returned advised scheduled referred emailed met "
            "jr sr senior director deputy manager foreman supervisor inspector engineer officer "
            "staff crew administrator commissioner boston"
        ).split()
    )
)
# Given names that are words as well ("THIS IS AMBER ALERT", "CRYSTAL CLEAR"): in capitals
# taken for a name only with what a person does after it, as "Will" or "May" in Title case.
_EN_CAPS_WORDLIKE_GIVEN = frozenset(
    "amber crystal robin carol dale earl heather jasmine bonnie".split()  # noqa: SIM905
)
_EN_CAPS_NEXT_WORD_RE = re.compile(r"[ \-]([A-Z]+)(?![A-Za-z])")


def _weak_name_end(m: re.Match[str]) -> int | None:
    """Where a name after a role or "this is" ends, when the words after the cue read as a
    person's (see _EN_WEAK_NAME_RE); None when they do not: other capitalised words."""
    name, text, end = m["name"], m.string, m.end()
    intro = m["cue"][:4].lower() == "this"  # "this is", not a role
    if name is None:
        return _caps_name_end(m, intro)
    goes_on = _EN_NAME_GOES_ON_RE.match(text, end)
    words = _LATIN_WORD_RE.findall(name if goes_on is None else name + goes_on.group(0))
    if any(w.lower() in _EN_NOT_PERSON_WORDS for w in words):
        return None
    given = words[0].lower() in _EN_GIVEN_NAMES  # (the name's first word)
    does = (_EN_INTRO_GOES_ON_RE if intro else _EN_ROLE_GOES_ON_RE).match(text, end)
    said = (m["colon"] is not None and not intro) or does is not None
    if (given or said) if " " in name or "-" in name else (given and said):
        return end
    return None


def _caps_name_end(m: re.Match[str], intro: bool) -> int | None:
    """Where a name in capitals after a role or "this is" ends (see _EN_WEAK_NAME_RE): a
    common given name, and the words after it up to the first word of a note; None for words
    of a place, a permit or an organisation ("THIS IS JOSEPH ST") or a given name alone that
    nothing a person does follows."""
    given = m["given"].lower()
    if given not in _EN_GIVEN_NAMES:
        return None
    end = m.end("given")
    for part in ("second", "third"):
        if m[part] is None:
            break
        words = [w.lower() for w in _LATIN_WORD_RE.findall(m[part])]
        if any(w in _EN_NOT_PERSON_WORDS for w in words):
            return None
        if any(w in _EN_CAPS_NOT_SURNAME_WORDS for w in words):
            break
        end = m.end(part)
    else:  # three words: the next may still make them a place's ("MARTIN LUTHER KING BLVD")
        after = _EN_CAPS_NEXT_WORD_RE.match(m.string, end)
        if after is not None and after[1].lower() in _EN_NOT_PERSON_WORDS:
            return None
    if end > m.end("given") and given not in _EN_CAPS_WORDLIKE_GIVEN:
        return end
    goes_on = _EN_INTRO_GOES_ON_RE if intro else _EN_ROLE_GOES_ON_RE
    said = (m["colon"] is not None and not intro) or goes_on.match(m.string, end) is not None
    return end if said else None


# WeChat ids are 6-20 letters, digits, '_' or '-'; QQ numbers 5-11 digits.  Their words as
# people write them to slip past filters too: 薇信, 威信, V信, 加V, +V, 加微, 扣扣, 企鹅号;
# and the other apps' ids (抖音号, 钉钉号).  The one list serves the pattern and the quick
# check before it, so a word added is looked for by both.
_CN_HANDLE_WORDS = (
    "微信", "薇信", "威信", "V信", "v信", "加V", "加v", "+V", "+v", "加微", "加薇", "扣扣",
    "企鹅号", "企鹅号码", "抖音", "钉钉",
)  # fmt: skip
_HANDLE_RE = re.compile(
    _led_by(
        {w[0] for w in _CN_HANDLE_WORDS} | set("WwVvQq"),
        rf"(?P<cue>(?i:{_literal_trie(_CN_HANDLE_WORDS)}"
        r"|wechat(?:\s*id)?|weixin|(?<![a-z])vx|(?<![a-z])wx(?!id_)|(?<![a-z])qq)"
        r"\s*(?:号码?|id)?\s*[:：是为]?\s*)"
        r"(?P<handle>[A-Za-z0-9][A-Za-z0-9_\-]{4,19})(?![A-Za-z0-9_\-])",
    )
)
_CN_HANDLE_CUE_RE = re.compile(_literal_trie(_CN_HANDLE_WORDS))
# A WeChat id as WeChat makes it ("wxid_" and a dozen letters and digits) is one whatever
# comes before it: "请回电wxid_k9a8b7c6d5" has no cue word.  "wxid" is among the English cue
# words below, so the quick searches find it.
_WXID_RE = re.compile(r"(?i)(?<![a-z0-9_])wxid_[a-z0-9_\-]{4,30}")
# One cheap search decides whether a string needs the patterns above at all: the cue words as
# plain text (Chinese), and as whole words of the lower-cased text (English).
_CN_CUE_RE = re.compile(
    _literal_trie(
        [
            *_CN_CALLED_WORDS,
            *_CN_CUE_WORDS,
            *_CN_WEAK_CUE_WORDS,
            *_CN_SURNAME_CUE_WORDS,
            *_ADDRESS_FORMS,
            *_CN_HANDLE_WORDS,
        ]
    )
)
_EN_CUE_WORDS = (
    "name",
    "contact",
    "mr",
    "mrs",
    "ms",
    "miss",
    "wechat",
    "weixin",
    "vx",
    "wx",
    "qq",
    "wxid",
    *_EN_WEAK_CUE_WORDS,
)
_EN_CUE_RE = re.compile(rf"{_word_trie(_EN_CUE_WORDS)}(?![a-z])")
_EN_WEAK_CUE_SET = frozenset(_EN_WEAK_CUE_WORDS)  # (as _EN_CUE_RE finds them)


def _keep_cue(m: re.Match[str]) -> str:
    return m["cue"] + NAME_MASK


def _keep_handle_cue(m: re.Match[str]) -> str:
    return m["cue"] + HANDLE_MASK


def mask_cued(text: str) -> str:
    """Names and messaging handles that the text itself marks as such, masked (see the
    module docstring).  Two quick searches for cue words come first, and each pattern runs
    only where its cues are: most strings hold none and are returned at once."""
    chinese = _CN_CUE_RE.search(text) is not None
    english = False
    weak_at: list[int] = []  # where a role or "this is" is, in the lower-cased text
    lower = text.lower()
    if (cue := _EN_CUE_RE.search(lower)) is not None:
        for c in (cue, *_EN_CUE_RE.finditer(lower, cue.end())):
            if c[0] in _EN_WEAK_CUE_SET:
                weak_at.append(c.start())
            else:
                english = True
    if not (chinese or english or weak_at):
        return text
    if weak_at:  # first, while the places found above are the text's own
        text = _mask_weak_names(text, weak_at if len(lower) == len(text) else None)
    if english or (chinese and _CN_HANDLE_CUE_RE.search(text) is not None):
        if "wxid" in lower:
            text = _WXID_RE.sub(HANDLE_MASK, text)
        text = _HANDLE_RE.sub(_keep_handle_cue, text)
    if chinese:
        if "姓" in text:  # "我姓王": a literal test spares most strings a pattern
            text = _CN_SURNAME_RE.sub(_keep_cue, text)
        text = _CN_WEAK_NAME_RE.sub(_keep_cue, _CN_NAME_RE.sub(_keep_cue, text))
        text = _CN_NAME_GOES_ON_RE.sub(_keep_cue, text)
        text = _FULL_FORM_NAME_RE.sub(NAME_MASK, text)
        text = _FORM_NAME_RE.sub(NAME_MASK, text)
    if english:
        text = _EN_NAME_RE.sub(_mask_english_name, text)
    return text


def _mask_weak_names(text: str, starts: list[int] | None) -> str:
    """Names after a role or "this is" masked (see _EN_WEAK_NAME_RE), the cue kept, the
    pattern tried only at `starts`, where the quick search found those words: Boston's long
    letters to a "Constituent" are not searched again.  None (lower case changed the text's
    length, so the places are not its own): the words are looked for again.  Words kept
    are searched on for a cue ("THIS IS TENANT MARY SMITH")."""
    if starts is None:
        starts = [c.start() for c in _EN_WEAK_CUE_RE.finditer(text)]
    out: list[str] = []
    done = 0
    for start in starts:
        m = _EN_WEAK_NAME_RE.match(text, start) if start >= done else None
        if m is not None and (end := _weak_name_end(m)) is not None:
            out += (text[done:start], m["cue"], NAME_MASK)
            done = end
    if not out:
        return text
    out.append(text[done:])
    return "".join(out)


# ---------------------------------------------------------------- names
def _fold(text: str) -> str:
    """Text as names are compared: lower case, no whitespace ("Zhang Wuji" is "zhangwuji")."""
    return "".join(text.lower().split())


@functools.lru_cache(maxsize=1024)
def _names_re(folded: tuple[str, ...]) -> re.Pattern[str]:
    """One pattern for these (folded) names, longest first, each matching whatever the case
    and any whitespace between its characters ("贾 宝玉", "ZHANG WUJI").  A name in Latin
    letters matches whole words only, so that a part like "Li" leaves "police" alone."""
    parts = []
    for name in sorted(folded, key=len, reverse=True):
        body = r"\s*".join(re.escape(ch) for ch in name)
        if name[0].isascii() and name[0].isalnum():
            body = r"(?<![A-Za-z0-9])" + body
        if name[-1].isascii() and name[-1].isalnum():
            body += r"(?![A-Za-z0-9])"
        parts.append(body)
    return re.compile("|".join(parts), re.IGNORECASE)


def blank_names(text: str, names: Iterable[str]) -> str:
    """The text with each of `names` (a record's declared names) replaced by a placeholder,
    whatever its case and the spaces inside it.  The cheap check (is the folded name in the
    folded text?) comes first: most strings hold no name and need no pattern."""
    folded_text = _fold(text)
    found = tuple(f for f in {_fold(n) for n in names} if f and f in folded_text)
    if not found:
        return text
    return _names_re(found).sub(NAME_MASK, text)


def names_in_record(record: Mapping[str, Any]) -> list[str]:
    """The values of a record's name fields (nested ones too), longest first."""
    return declared_in_record(record)[0]


def declared_in_record(record: Mapping[str, Any]) -> tuple[list[str], list[tuple[str, str]]]:
    """What a record declares about a person, to be blanked wherever else it repeats it: the
    values of its name fields (nested ones too), longest first, and (value, placeholder) for
    each value of its contact fields worth looking for (five digits or more, or an address).

    A contact value repeated in the description is blanked there even when it has no phone
    number's shape and no phone word before it ("tel": "6234 5671", "打6234 5671").  One walk
    finds both: it runs on every citizen record."""
    names: list[str] = []
    contacts: list[tuple[str, str]] = []

    def walk(value: Any, depth: int) -> None:
        if depth > MAX_DEPTH:
            return
        if isinstance(value, dict):
            for k, v in value.items():
                mask = field_mask(str(k))
                if mask is None:
                    if isinstance(v, dict | list):
                        walk(v, depth + 1)
                elif mask == NAME_MASK:
                    if isinstance(v, str | int | float) and v != "":
                        names.append(str(v).strip())
                    elif isinstance(v, dict | list):
                        walk(v, depth + 1)
                elif isinstance(v, str | int) and not isinstance(v, bool):
                    _add_contact(contacts, str(v).strip(), mask)
        elif isinstance(value, list):
            for v in value:
                if isinstance(v, dict | list):
                    walk(v, depth + 1)

    walk(record, 0)
    return _name_variants(names), contacts


def _add_contact(contacts: list[tuple[str, str]], text: str, mask: str) -> None:
    if "@" in text or mask == HANDLE_MASK:  # an address or a handle: looked for as written
        if len(text) >= 5:
            contacts.append((text, mask))
        return
    # "6234 5671 ext. 8": the number and the extension are looked for apart
    for part in _NOT_NUMBER_RE.split(text):
        if len(_NON_DIGIT_RE.sub("", part)) >= 5:
            contacts.append((part, mask))
            # "021-62345671" is repeated as "62345671": a local number without its area code
            contacts.extend((run, mask) for run in _LOCAL_RUN_RE.findall(part) if run != part)


_NON_DIGIT_RE = re.compile(r"\D+")
_LOCAL_RUN_RE = re.compile(r"\d{7,}")
_NOT_NUMBER_RE = re.compile(r"[^\d\s\-./()+]+")  # words between the numbers of one value


def blank_contacts(text: str, contacts: Iterable[tuple[str, str]]) -> str:
    """The text with each contact value replaced by its placeholder: numbers whatever the
    separators between their digits, addresses whatever their case.  The cheap check (are
    its digits, or the address, in the text at all?) comes first."""
    compact: str | None = None
    for value, mask in contacts:
        if "@" in value or mask == HANDLE_MASK:
            if value.lower() in text.lower():
                text = re.sub(re.escape(value), mask, text, flags=re.IGNORECASE)
            continue
        if compact is None:
            if _MAYBE_PERSONAL_RE.search(text) is None:
                continue  # no digit: no number to look for
            compact = _NON_DIGIT_RE.sub("", text)
        if _NON_DIGIT_RE.sub("", value) in compact:
            # digits joined as people group them (spaces, dashes, dots, slashes, brackets),
            # not across words: "623号4幢5671室" is an address, not 62345671
            spaced = r"[\s\-./()]{0,3}".join(_NON_DIGIT_RE.sub("", value))
            text = re.sub(rf"(?<!\d){spaced}(?!\d)", mask, text)
            compact = None
    return text


_NAME_SPLIT_RE = re.compile(r"[\s,，、/;；|()（）]+")


def _name_variants(values: Iterable[str]) -> list[str]:
    """Each declared name, and its parts when it holds several ("张三 李四", "Li, Wei"),
    longest first so that "张三丰" is blanked whole before "张三" could split it."""
    found: set[str] = set()
    for value in values:
        value = value.strip()
        if len(value) < 2:  # a lone surname ("王") would blank 王家宅路 and every 王先生
            continue
        found.add(value)
        for part in _NAME_SPLIT_RE.split(value):
            if len(part) >= 2 and not part.isdigit():
                found.add(part)
    return sorted(found, key=len, reverse=True)


def _mask_value(
    value: Any, names: list[str], depth: int = 0, contacts: list[tuple[str, str]] | None = None
) -> Any:
    if isinstance(value, str):
        text = blank_names(mask_text(value), names)
        return blank_contacts(text, contacts) if contacts else text
    if isinstance(value, dict | list) and depth >= MAX_DEPTH:
        return DEEP_MASK
    if isinstance(value, dict):
        return _mask_fields(value, names, depth + 1, contacts)
    if isinstance(value, list):
        return [_mask_value(v, names, depth + 1, contacts) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**10:
        # an 11-digit phone number sent as a JSON number is still a phone number; any other
        # number (a timestamp in epoch milliseconds) stays a number, as it was received
        masked = mask_text(str(value))
        return value if masked == str(value) else masked
    if isinstance(value, float) and 1e10 <= abs(value) < 1e19 and value.is_integer():
        # and so is one a spreadsheet's export wrote as a float (13812345678.0, 1.3812345678e10)
        masked = mask_text(str(int(value)))
        return value if masked == str(int(value)) else masked
    return value


def mask_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a decoded record with name and contact fields dropped and every string
    masked."""
    names, contacts = declared_in_record(record)
    return _mask_fields(record, names, 0, contacts)


@functools.lru_cache(maxsize=4096)
def _masked_key_text(key: str) -> str:
    return mask_text(key)


def _mask_fields(
    value: Mapping[Any, Any],
    names: list[str],
    depth: int,
    contacts: list[tuple[str, str]] | None,
) -> dict[str, Any]:
    """An object's fields masked: personal fields dropped, values masked, and the keys too.

    Why the keys: a producer may put data where a key goes (`{"13812345678": "callback"}`,
    `{"联系人：王小明": 1}`), and a dead letter kept it verbatim.  A key is masked as text
    (`mask_text`, remembered: the same few keys come in every record) and its contact values
    blanked; not the declared names, which would turn `long` into `<name>` for a caller named
    Long and lose the position.  Two keys masked alike are told apart, `<phone>#2`, so that
    neither value is lost."""
    out: dict[str, Any] = {}
    for k, v in value.items():
        key = str(k)
        if is_personal_field(key):
            continue
        masked = _masked_key_text(key) if len(key) <= 256 else mask_text(key)
        if contacts:
            masked = blank_contacts(masked, contacts)
        if masked != key:
            base, n = masked, 2
            while masked in out or masked in value:
                masked, n = f"{base}#{n}", n + 1
        out[masked] = _mask_value(v, names, depth, contacts)
    return out


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
    text, and `"name": "..."`-like pairs of personal fields in it are blanked by pattern; with
    `redact_broken` (records that carry personal data: the citizen channels) all its strings
    are dropped.
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
    return blank_names(_NAME_VALUE_RE.sub(_blank_pair, text), _name_variants(names))


def _blank_pair(m: re.Match[str]) -> str:
    """A `"key": "value"` pair of a broken line, its value blanked if the key is personal."""
    mask = field_mask(m["key"])
    return m.group(0) if mask is None else f'"{m["key"]}":"{mask}"'


def mask_raw_csv(raw: str, header: list[str] | None, redact_broken: bool = False) -> str:
    """Masked text of one CSV line; with the header, the name and contact columns are
    blanked.

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
    masks = [field_mask(h) for h in header]
    names = _name_variants(v for v, mask in zip(row, masks, strict=True) if mask == NAME_MASK)
    out = [
        blank_names(v, names) if mask is None else mask for v, mask in zip(row, masks, strict=True)
    ]
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

"""Fake but well-formed personal data for simulated citizen records.

Hotline orders carry a caller's name and phone number, and some descriptions an ID-card number,
because that is what real orders look like and the decoder must mask them before anything else
sees them.  Everything here is invented: names from common surnames and given-name characters,
mobile numbers with a real-looking 13x/15x/18x prefix and random digits, and 18-character
resident ID numbers (GB 11643) with a Shanghai region code and a valid check character -- so
that a masker which checks the check character is exercised too."""

from __future__ import annotations

import numpy as np

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国文辉玲红鹏斌宇浩凯婷雪琳晨欣怡子涵"
MOBILE_PREFIXES = ("13", "15", "18")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def names(rng: np.random.Generator, n: int) -> list[str]:
    """Chinese names: a surname and one or two given-name characters."""
    sur = rng.integers(0, len(SURNAMES), n).tolist()
    g1 = rng.integers(0, len(GIVEN), n).tolist()
    g2 = rng.integers(0, len(GIVEN), n).tolist()
    two = (rng.random(n) < 0.6).tolist()
    return [
        SURNAMES[s] + GIVEN[a] + (GIVEN[b] if t else "")
        for s, a, b, t in zip(sur, g1, g2, two, strict=True)
    ]


def mobiles(rng: np.random.Generator, n: int) -> list[str]:
    """11-digit mainland mobile numbers starting 13, 15 or 18."""
    prefix = rng.integers(0, len(MOBILE_PREFIXES), n).tolist()
    rest = rng.integers(0, 10**9, n).tolist()
    return [f"{MOBILE_PREFIXES[p]}{r:09d}" for p, r in zip(prefix, rest, strict=True)]


def id_check_char(first17: str) -> str:
    """The GB 11643 check character of the first 17 digits."""
    total = sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def id_numbers(rng: np.random.Generator, n: int, region_codes: list[str]) -> list[str]:
    """18-character resident ID numbers: region, birth date 1950-2004, sequence, check."""
    region = rng.integers(0, len(region_codes), n).tolist()
    year = rng.integers(1950, 2005, n).tolist()
    month = rng.integers(1, 13, n).tolist()
    day = rng.integers(1, 29, n).tolist()
    seq = rng.integers(0, 1000, n).tolist()
    out = []
    for r, y, m, d, s in zip(region, year, month, day, seq, strict=True):
        first17 = f"{region_codes[r]}{y:04d}{m:02d}{d:02d}{s:03d}"
        out.append(first17 + id_check_char(first17))
    return out

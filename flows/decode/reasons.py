"""Why a record was turned away, and the dead letters that carry it.

Every rejected record keeps its (masked) raw text, the reason, a human detail, and where it
came from (source name and line number), so an operator can find and fix the producer.  The
reasons are a small closed set so that they can be counted and graphed per reason.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from operator import attrgetter


class Reason(StrEnum):
    BAD_JSON = "bad_json"  # not JSON, not one object a line, or a broken CSV row
    MISSING_FIELD = "missing_field"  # a required field absent or null
    WRONG_TYPE = "wrong_type"  # e.g. a string where a number belongs
    NOT_FINITE = "not_finite"  # NaN or +-inf
    BAD_VALUE = "bad_value"  # right type, impossible value (latitude 300, result "maybe")
    UNKNOWN_SENSOR = "unknown_sensor"  # sensor_id not in the registry
    UNKNOWN_FIELD = "unknown_field"  # a field or metric the sensor's kind does not have
    UNKNOWN_CATEGORY = "unknown_category"  # service_code not in hotline_categories.yaml
    NO_TIMEZONE = "no_timezone"  # a local time: which clock?
    BAD_TIMESTAMP = "bad_timestamp"  # not an ISO 8601 timestamp, or an impossible date
    TOO_FAR_IN_TIME = "too_far_in_time"  # absurdly far ahead of or behind the stream's time
    DUPLICATE = "duplicate"  # same id (or same sensor, time and field) seen before
    LATE = "late"  # behind the watermark: assigned by the windows engine, not here


@dataclass(frozen=True)
class DeadLetter:
    """One rejected record.  `record` is the raw text with personal data already masked."""

    record: str
    reason: Reason
    detail: str
    source: str
    position: int  # 1-based line number in the source (0 when unknown)

    def to_dict(self) -> dict[str, str | int]:
        return {
            "record": self.record,
            "reason": self.reason.value,
            "detail": self.detail,
            "source": self.source,
            "position": self.position,
        }


@dataclass
class DeadLetters:
    """Dead letters of one batch, and counts per reason.

    Counts can exceed the letters: duplicates are counted (per event for sensor readings)
    but not written out one by one, since a redelivered stream would otherwise flood the sink.
    """

    letters: list[DeadLetter] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)

    def add(self, letter: DeadLetter) -> None:
        self.letters.append(letter)
        self.counts[letter.reason.value] += 1

    def add_all(self, letters: list[DeadLetter]) -> None:
        """Add many letters at once (a chunk's refused rows), each counted under its reason
        (tallied by reason first: thousands of letters, a handful of reasons)."""
        self.letters.extend(letters)
        for reason, n in Counter(map(attrgetter("reason"), letters)).items():
            self.counts[reason.value] += n

    def count(self, reason: Reason, n: int = 1) -> None:
        """Count without a letter (duplicates, late events)."""
        if n:
            self.counts[reason.value] += n

    def extend(self, other: DeadLetters) -> None:
        self.letters.extend(other.letters)
        self.counts.update(other.counts)

    def __len__(self) -> int:
        return len(self.letters)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

"""`citysigns test` sets the record fields an indicator's filter tests (`record:`), and a test
whose records the filter all left out says so: a hotline count filtered on the channel of
intake, fed orders without one, gave no warnings and no hint why."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from citysigns.cli import app
from indicators.testing.runner import run_paths

CATALOG = """
version: 1
indicators:
  - id: t.noise_app
    title: {zh: 噪声投诉(线上), en: Noise complaints online}
    category: hotline
    unit: orders
    owner: urban_management
    source:
      kind: hotline
      categories: [noise_complaint]
      filter: [{field: channel, in: [wechat, app, phone]}]
    value:
      aggregate: count
      window: {type: tumbling, length: 1h, lateness: 15m}
      levels: [street]
    detection:
      detectors: [{type: threshold, upper: 10}]
      warnings:
        on: value
        levels: {blue: {threshold: 10, for: 0s}}
    dispatch: none
  - id: t.photos
    title: {zh: 随申拍(有照片), en: Photo reports with a photo}
    category: photo_report
    unit: reports
    owner: urban_management
    source:
      kind: photo_report
      filter: [{field: has_photo, equals: 1}]
    value:
      aggregate: count
      window: {type: tumbling, length: 1h, lateness: 15m}
      levels: [street]
    detection:
      detectors: [{type: threshold, upper: 10}]
      warnings:
        on: value
        levels: {blue: {threshold: 10, for: 0s}}
    dispatch: none
"""

TEST = """
catalog: draft.yaml
tests:
  - name: 20 complaints in an hour
    indicator: t.noise_app
    interval: 1h
    series:
      - {{area: "310101001001001", category: noise_complaint, {record}values: 0 20 0x5}}
    expect: {{warnings: [{{at: 2h, area: "310101001", level: blue}}]}}
"""


def _write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "draft.yaml").write_text(CATALOG, "utf-8")
    f = tmp_path / "t.yaml"
    f.write_text(text, "utf-8")
    return f


def test_a_record_field_reaches_the_indicators_filter(tmp_path: Path) -> None:
    f = _write(tmp_path, TEST.format(record="record: {channel: wechat}, "))
    report = run_paths([f])
    assert report.ok, report.outcomes[0].report()


def test_an_order_carries_its_record_fields_too(tmp_path: Path) -> None:
    orders = "".join(
        f'      - {{at: {60 + k}m, category: noise_complaint, area: "310101001001001", '
        f"record: {{channel: {'app' if k % 2 else 'phone'}}}}}\n"
        for k in range(12)
    )
    text = TEST.format(record="").replace(
        "    series:\n", "    hotline:\n" + orders + "    series:\n"
    )
    text = text.replace("values: 0 20 0x5", "values: 0x6")
    report = run_paths([_write(tmp_path, text)])
    assert report.ok, report.outcomes[0].report()


def test_records_the_filter_all_leaves_out_are_named_in_the_failure(tmp_path: Path) -> None:
    report = run_paths([_write(tmp_path, TEST.format(record=""))])
    assert not report.ok
    text = report.outcomes[0].report()
    assert "warnings differ: 1 expected, 0 got" in text
    assert "note: none of the test's 20 hotline records is counted by t.noise_app" in text
    assert "its source keeps only: category in [noise_complaint] and channel in [wechat, " in text
    assert "the test's records had: category noise_complaint; channel not given" in text
    assert "e.g. `record: {channel: wechat}`" in text


def test_a_photo_report_without_its_photo(tmp_path: Path) -> None:
    """Photo reports came with `has_photo: 1` always; `record: {has_photo: 0}` gives them
    without, which a filter on it leaves out."""
    photos = TEST.replace("t.noise_app", "t.photos").replace(
        "category: noise_complaint, ", "category: noise_complaint, channel: photo_report, "
    )
    assert run_paths([_write(tmp_path, photos.format(record=""))]).ok
    report = run_paths([_write(tmp_path, photos.format(record="record: {has_photo: 0}, "))])
    text = report.outcomes[0].report()
    assert "none of the test's 20 photo_report records is counted by t.photos" in text
    assert "its source keeps only: has_photo equals 1" in text
    assert "the test's records had: has_photo 0" in text


def test_the_series_channel_and_record_fields_are_told_apart(tmp_path: Path) -> None:
    """`channel:` is the citizen channel (hotline, photo_report); `channel: wechat` was
    refused with no word of where a channel of intake goes."""
    text = TEST.format(record="channel: wechat, ")
    text = text.replace(
        "    expect:",
        '      - {area: "310101001001001", category: noise_complaint, record: {chanel: app},'
        " values: 1}\n"
        '      - {area: "310101001001001", category: noise_complaint, channel: photo_report,'
        " record: {has_photo: yes}, values: 1}\n"
        "    expect:",
    )
    result = CliRunner().invoke(app, ["test", str(_write(tmp_path, text))])
    assert result.exit_code == 1
    out = result.output
    assert (
        "t.yaml:8:71: \"channel\" is 'wechat': the citizen channel, one of hotline, "
        "photo_report; a hotline order's channel of intake is a field of its record: "
        "record: {channel: wechat}"
    ) in out, out
    assert (
        't.yaml:9:71: "chanel" is not a field a test sets on a hotline record: a hotline '
        'record has channel (did you mean "channel"?)'
    ) in out, out
    assert 't.yaml:10:105: "has_photo" of a photo_report record is a whole number' in out, out


KEYWORDS = """
version: 1
indicators:
  - id: t.noise_words
    title: {zh: 噪声投诉(关键词), en: Noise complaints by word}
    category: hotline
    unit: orders
    owner: urban_management
    source: {kind: hotline, keywords: [噪声, 噪音]}
    value:
      aggregate: count
      window: {type: tumbling, length: 1h, lateness: 15m}
      levels: [street]
    detection:
      detectors: [{type: threshold, upper: 10}]
      warnings: {on: value, levels: {blue: {threshold: 10, for: 0s}}}
    dispatch: none
"""


def test_an_area_series_gives_its_orders_a_description(tmp_path: Path) -> None:
    """An indicator selecting by `keywords` could be tested order by order only: an area
    series had no `description` ("unknown key"), its orders read "other reported", and
    the guide said that description has its own key."""
    (tmp_path / "words.yaml").write_text(KEYWORDS, "utf-8")
    f = tmp_path / "t.yaml"
    f.write_text(
        "catalog: words.yaml\n"
        "tests:\n"
        "  - name: 20 orders about noise in an hour\n"
        "    indicator: t.noise_words\n"
        "    interval: 1h\n"
        "    series:\n"
        '      - {area: "310101001001001", category: other, description: 楼上装修噪音扰民,'
        " values: 0 20 0x5}\n"
        '      - {area: "310101002001001", category: other, values: 0 20 0x5}\n'
        '    expect: {warnings: [{at: 2h, area: "310101001", level: blue}]}\n',
        "utf-8",
    )
    report = run_paths([f])
    assert report.ok, report.outcomes[0].report()

"""The city model, the sensor registry and the venue registry."""

from __future__ import annotations

import gzip
import itertools
import re
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from flows.city import (
    DEFAULT_MIX,
    LEVELS,
    City,
    SensorRegistry,
    generate_registry,
    generate_venues,
    load_city,
    load_default_registry,
    load_default_venues,
    load_registry,
    sensor_kinds,
)
from flows.city import generate as gen
from flows.city.ids import IdIndex, IdPattern
from flows.city.registry import SENSOR_KIND_PREFIX, RegistryError

DISTRICTS = {
    "310101": ("黄浦区", "Huangpu"), "310104": ("徐汇区", "Xuhui"),
    "310105": ("长宁区", "Changning"), "310106": ("静安区", "Jing'an"),
    "310107": ("普陀区", "Putuo"), "310109": ("虹口区", "Hongkou"),
    "310110": ("杨浦区", "Yangpu"), "310112": ("闵行区", "Minhang"),
    "310113": ("宝山区", "Baoshan"), "310114": ("嘉定区", "Jiading"),
    "310115": ("浦东新区", "Pudong"), "310116": ("金山区", "Jinshan"),
    "310117": ("松江区", "Songjiang"), "310118": ("青浦区", "Qingpu"),
    "310120": ("奉贤区", "Fengxian"), "310151": ("崇明区", "Chongming"),
}  # fmt: skip
ID_RE = re.compile(r"^(AQ|WS|WQ|TF|FL|PW|GS|NS|EL|MH)-(3101\d\d)-(\d{6})$")


@pytest.fixture(scope="module")
def city() -> City:
    return load_city()


@pytest.fixture(scope="module")
def big_registry(city: City) -> SensorRegistry:
    return generate_registry(city, 200_000, seed=11)


# ------------------------------------------------------------------ data files


def test_committed_files_match_their_generator() -> None:
    pkg = resources.files("flows.city")
    level_files = gen.render_level_files()
    for name, text in level_files.items():
        assert pkg.joinpath(name).read_text("utf-8") == text, f"{name}: run flows.city.generate"
    shipped = gzip.decompress(pkg.joinpath(gen.DEFAULT_REGISTRY_FILE).read_bytes()).decode()
    assert shipped == gen.render_default_registry(level_files)


def test_generator_writes_identical_bytes_twice(tmp_path: Path) -> None:
    first = {p.name: p.read_bytes() for p in gen.write_all(tmp_path)}
    second = {p.name: p.read_bytes() for p in gen.write_all(tmp_path)}
    assert first == second
    assert set(first) == {*gen.LEVEL_FILES.values(), gen.DEFAULT_REGISTRY_FILE}


# ------------------------------------------------------------------ the five levels


def test_sixteen_real_districts(city: City) -> None:
    d = city.level("district")
    got = {c: (zh, en) for c, zh, en in zip(d.code, d.name_zh, d.name_en, strict=True)}
    assert got == DISTRICTS
    assert city.level("city").code.tolist() == ["310000"]


def test_realistic_counts(city: City) -> None:
    streets, grids, comms = (len(city.level(x)) for x in ("street", "grid", "community"))
    assert 200 <= streets <= 230
    per_street = np.bincount(city.level("grid").parent, minlength=streets)
    per_grid = np.bincount(city.level("community").parent, minlength=grids)
    assert per_street.min() >= 8 and per_street.max() <= 12
    assert per_grid.min() >= 3 and per_grid.max() <= 7
    assert 9.0 < grids / streets < 11.0 and 4.5 < comms / grids < 5.5


def test_real_and_generated_street_names(city: City) -> None:
    s = city.level("street")
    jingan = s.code[np.char.startswith(s.code, "310106")]
    names = dict(zip(s.code.tolist(), s.name_zh.tolist(), strict=True))
    assert "南京西路街道" in {names[c] for c in jingan.tolist()}
    assert {"外滩街道", "徐家汇街道", "陆家嘴街道"} <= set(s.name_zh.tolist())
    generated = [n for n in s.name_en.tolist() if re.fullmatch(r"Pudong Street \d+", n)]
    assert len(generated) == 36 - 12
    # Pudong's generated streets follow its named ones: "浦东新区第13街道" is the 13th street
    lvl, idx = city.find("310115013")
    assert (lvl, str(s.name_zh[idx])) == ("street", "浦东新区第13街道")


def test_codes_are_hierarchical_prefixes(city: City) -> None:
    for fine, coarse in itertools.pairwise(LEVELS[:-1]):  # the city has no digits to add
        f, c = city.level(fine), city.level(coarse)
        assert np.all(np.char.str_len(f.code) == np.char.str_len(c.code[f.parent]) + 3)
        assert all(code.startswith(parent) for code, parent in
                   zip(f.code.tolist(), c.code[f.parent].tolist(), strict=True))  # fmt: skip
    assert [city.level_of_code(c) for c in ("310000", "310106", "310106003", "310106003001",
            "310106003001002")] == ["city", "district", "street", "grid", "community"]  # fmt: skip
    with pytest.raises(ValueError, match="not an area code"):
        city.level_of_code("31010")
    with pytest.raises(ValueError, match="no street"):
        city.find("310106999")


def test_ancestors_are_vectorised_and_agree_with_code_prefixes(city: City) -> None:
    comm = city.level("community")
    idx = np.arange(len(comm))
    anc = city.ancestors("community", idx)
    assert set(anc) == set(LEVELS)
    for lvl, n in (("grid", 12), ("street", 9), ("district", 6)):
        expected = city.index_of(lvl, [c[:n] for c in comm.code.tolist()])
        assert np.array_equal(anc[lvl], expected)
    assert np.all(anc["city"] == 0)
    up = city.ancestors("grid", np.array([5, -1, 7]))
    assert up["street"][1] == -1 and up["district"][1] == -1 and up["city"][1] == -1
    assert up["street"][0] == city.level("grid").parent[5]


def test_descendants_lie_under_their_area(city: City) -> None:
    _, street = city.find("310106003")
    comms = city.descendants("street", street)
    grids = city.descendants("street", street, "grid")
    assert comms.size >= 3 * grids.size > 0
    assert all(c.startswith("310106003") for c in city.level("community").code[comms].tolist())
    assert set(city.level("community").parent[comms].tolist()) == set(grids.tolist())


def test_index_of_unknown_codes_is_minus_one(city: City) -> None:
    got = city.index_of("district", ["310106", "999999", "", "310106003"])
    assert got[0] >= 0 and got[1:].tolist() == [-1, -1, -1]


def test_full_names(city: City) -> None:
    _, g = city.find("310106003002")
    assert city.full_name("grid", g) == "静安区南京西路街道第2网格"
    assert city.full_name("grid", g, "en") == "Grid 2, Nanjing West Road, Jing'an"
    _, s = city.find("310114010")  # a generated name that starts with its district's
    assert city.full_name("street", s) == "嘉定区第10街道"


def test_locate_finds_the_nearest_community(city: City) -> None:
    comm = city.level("community")
    idx = np.arange(0, len(comm), 7)
    assert np.array_equal(city.locate(comm.lat[idx], comm.lon[idx]), idx)
    got = city.locate([np.nan, 0.0, 31.23, 42.36], [121.47, 0.0, np.inf, -71.06])
    assert got.tolist() == [-1, -1, -1, -1]  # NaN, null island, infinite, Boston
    assert city.locate(np.full((2, 3), 31.23), np.full((2, 3), 121.47)).shape == (2, 3)


def test_scattered_points_locate_back_to_their_community(city: City) -> None:
    rng = np.random.default_rng(3)
    comms = rng.integers(0, len(city), 50_000)
    lat, lon = city.scatter(comms, rng)
    assert np.array_equal(city.locate(lat, lon), comms)
    assert float(city.community_spacing_km.min()) >= 0.07


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("code,name\n", "header"),
        ("code,name_zh,name_en,lat,lon\n310106,a,b,x,1\n", "numbers"),
        ("code,name_zh,name_en,lat,lon\n310106,a,b,1\n", "columns"),
    ],
)
def test_bad_level_files_are_refused_clearly(text: str, message: str) -> None:
    files = gen.render_level_files()
    files["districts.csv"] = text
    with pytest.raises(ValueError, match=message):
        City.from_texts({"code": "310000", "zh": "上海市", "en": "Shanghai"}, files)


def test_orphans_are_refused() -> None:
    files = gen.render_level_files()
    files["streets.csv"] += "310199001,x,y,31.0,121.0\n"
    with pytest.raises(ValueError, match="no parent 310199"):
        City.from_texts({"code": "310000", "zh": "上海市", "en": "Shanghai"}, files)


# ------------------------------------------------------------------ sensor registry


def test_registry_generation_is_deterministic(city: City) -> None:
    a = generate_registry(city, 5000, seed=1)
    b = generate_registry(city, 5000, seed=1)
    c = generate_registry(city, 5000, seed=2)
    for col in ("sensor_id", "kind", "community", "lat", "lon"):
        assert np.array_equal(getattr(a, col), getattr(b, col))
    assert not np.array_equal(a.community, c.community)


def test_ids_are_well_formed_unique_sorted_and_serial(big_registry: SensorRegistry) -> None:
    ids = big_registry.ids()
    assert len(ids) == 200_000 and all(ID_RE.match(i) for i in ids[::97])
    assert np.all(big_registry.sensor_id[1:] > big_registry.sensor_id[:-1])  # sorted, unique
    prefix = {v: k for k, v in SENSOR_KIND_PREFIX.items()}
    kinds = np.array(big_registry.kinds)[big_registry.kind]
    assert all(prefix[i[:2]] == k for i, k in zip(ids[::101], kinds[::101].tolist(), strict=True))
    # serials count 1, 2, 3, ... within each (kind, district)
    groups: dict[str, list[int]] = {}
    for i in ids:
        groups.setdefault(i[:9], []).append(int(i[10:]))
    assert all(s == list(range(1, len(s) + 1)) for s in groups.values())


def test_ids_name_the_district_of_their_community(city: City, big_registry: SensorRegistry) -> None:
    district = big_registry.area(city, "district")
    codes = city.level("district").code[district]
    assert np.array_equal(np.array([i[3:9] for i in big_registry.ids()]), codes)


def test_kind_mix_follows_the_weights(big_registry: SensorRegistry) -> None:
    counts = np.bincount(big_registry.kind, minlength=len(big_registry.kinds))
    for name, weight in DEFAULT_MIX.items():
        share = counts[big_registry.kinds.index(name)] / len(big_registry)
        assert abs(share - weight) < 0.005, name
    assert big_registry.kinds == sensor_kinds()


def test_sensors_sit_inside_their_community(city: City, big_registry: SensorRegistry) -> None:
    assert np.array_equal(city.locate(big_registry.lat, big_registry.lon), big_registry.community)


def test_lookup_round_trip_in_any_input_form(big_registry: SensorRegistry) -> None:
    rng = np.random.default_rng(5)
    rows = rng.integers(0, len(big_registry), 20_000)
    as_bytes = big_registry.sensor_id[rows]
    as_str = as_bytes.astype(str)
    assert np.array_equal(big_registry.lookup(as_bytes), rows)
    assert np.array_equal(big_registry.lookup(as_str), rows)
    assert np.array_equal(big_registry.lookup(as_str.tolist()), rows)
    assert np.array_equal(big_registry.lookup(np.array(as_str.tolist(), dtype=object)), rows)


def test_lookup_of_unknown_or_malformed_ids(big_registry: SensorRegistry) -> None:
    first = big_registry.ids([0])[0]
    queries = [
        first, first + "1", first[:-1], first.lower(), "静安-310106-000001", first[:-1] + "静",
        "", "AQ-310106-999999", "ZZ-310106-000001", None, 42, first.encode(),
    ]  # fmt: skip
    got = big_registry.lookup(np.array(queries, dtype=object))
    assert got.tolist() == [0, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0]
    assert big_registry.lookup([]).shape == (0,)


def test_registry_save_and_load(tmp_path: Path, city: City, big_registry: SensorRegistry) -> None:
    path = tmp_path / "reg.npz"
    big_registry.save(path)
    back = SensorRegistry.load(path, city)
    assert back.kinds == big_registry.kinds
    for col in ("sensor_id", "kind", "community", "lat", "lon"):
        assert np.array_equal(getattr(back, col), getattr(big_registry, col))
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(ValueError, match="not a sensor registry"):
        SensorRegistry.load(tmp_path / "other.npz")


def test_registry_refuses_another_city_model(tmp_path: Path, city: City) -> None:
    files = gen.render_level_files()
    files["communities.csv"] = "\n".join(files["communities.csv"].splitlines()[:-1]) + "\n"
    smaller = City.from_texts({"code": "310000", "zh": "上海市", "en": "Shanghai"}, files)
    reg = generate_registry(smaller, 100, seed=1)
    reg.save(tmp_path / "r.npz")
    with pytest.raises(ValueError, match="different city model"):
        SensorRegistry.load(tmp_path / "r.npz", city)


def test_registry_csv_round_trip(city: City) -> None:
    reg = generate_registry(city, 300, seed=4)
    back = SensorRegistry.from_csv_text(reg.to_csv_text(city), city)
    assert back.ids() == reg.ids()
    assert np.array_equal(back.community, reg.community)
    assert np.allclose(back.lat, reg.lat, atol=1e-7)
    bad = reg.to_csv_text(city).replace("air_quality", "air_qualty", 1)
    with pytest.raises(ValueError, match='did you mean "air_quality"'):
        SensorRegistry.from_csv_text(bad, city, "x.csv")
    bad = reg.to_csv_text(city).replace("AQ-", "空气-", 1)
    with pytest.raises(ValueError, match=r"x.csv:2: sensor id .* printable ASCII"):
        SensorRegistry.from_csv_text(bad, city, "x.csv")


def test_a_deployment_registry_loads_from_csv_gzip_or_npz(city: City, tmp_path: Path) -> None:
    reg = generate_registry(city, 200, seed=6)
    text = reg.to_csv_text(city)
    (tmp_path / "r.csv").write_text(text, "utf-8")
    (tmp_path / "r.csv.gz").write_bytes(gzip.compress(text.encode()))
    reg.save(tmp_path / "r.npz")
    for name in ("r.csv", "r.csv.gz", "r.npz"):
        assert load_registry(tmp_path / name, city).ids() == reg.ids(), name
    lines = text.splitlines()
    lines[4] = lines[4].replace(lines[4].split(",")[2], "999999999999999")
    (tmp_path / "bad.csv").write_text("\n".join(lines), "utf-8")
    with pytest.raises(ValueError, match=r"bad.csv:5: unknown community code '999999999999999'"):
        load_registry(tmp_path / "bad.csv", city)
    twice = text.splitlines()
    twice.insert(7, twice[3])  # the sensor of line 4 again, as line 8
    (tmp_path / "twice.csv").write_text("\n".join(twice), "utf-8")
    sid = twice[3].split(",")[0]
    with pytest.raises(ValueError, match=rf"twice.csv:8: sensor id '{sid}' is already on line 4"):
        load_registry(tmp_path / "twice.csv", city)
    doubled = reg.subset(np.r_[np.arange(len(reg)), 0])  # the first sensor twice
    doubled.save(tmp_path / "doubled.npz")
    with pytest.raises(ValueError, match=r"doubled.npz: sensor id '.*' is listed 2 times"):
        load_registry(tmp_path / "doubled.npz", city)
    (tmp_path / "bin.csv").write_bytes(b"\xff\xfe")
    with pytest.raises(ValueError, match=r"bin.csv: not UTF-8"):
        load_registry(tmp_path / "bin.csv", city)


def test_registries_with_other_id_schemes_still_look_up(city: City) -> None:
    text = "sensor_id,kind,community,lat,lon\n"
    code = city.level("community").code[0]
    for sid in ("aq-1", "AQ-310101-7", "X"):
        text += f"{sid},air_quality,{code},31.227,121.472\n"
    reg = SensorRegistry.from_csv_text(text, city)
    assert reg.lookup(["X", "aq-1", "AQ-310101-7", "AQ-310101-000007"]).tolist() == [2, 0, 1, -1]


def test_custom_mixes_and_bad_arguments(city: City) -> None:
    reg = generate_registry(city, 1000, seed=1, kinds=["gas", "flood"])
    assert set(np.array(reg.kinds)[np.unique(reg.kind)].tolist()) == {"gas", "flood"}
    reg = generate_registry(city, 1000, seed=1, kinds={"noise": 1.0})
    assert all(i.startswith("NS-") for i in reg.ids())
    assert len(generate_registry(city, 0, seed=1)) == 0
    with pytest.raises(ValueError, match='did you mean "air_quality"'):
        generate_registry(city, 10, seed=1, kinds=["air_qualty"])
    with pytest.raises(ValueError, match="hotline"):
        generate_registry(city, 10, seed=1, kinds=["hotline"])
    with pytest.raises(ValueError, match="non-negative"):
        generate_registry(city, -1, seed=1)
    with pytest.raises(ValueError, match="positive weight"):
        generate_registry(city, 10, seed=1, kinds={"gas": 0.0})


def test_subset_and_kind_rows(big_registry: SensorRegistry) -> None:
    rows = big_registry.kind_rows("gas")
    sub = big_registry.subset(rows[::-1])
    assert sub.ids() == big_registry.ids(rows)
    assert np.array_equal(sub.lookup(big_registry.sensor_id[rows]), np.arange(rows.size))
    with pytest.raises(ValueError, match='did you mean "gas"'):
        big_registry.kind_rows("gaz")


def test_default_registry(city: City) -> None:
    reg = load_default_registry()
    assert len(reg) == gen.DEFAULT_REGISTRY_SIZE
    present = {reg.kinds[k] for k in np.unique(reg.kind).tolist()}
    assert present == set(DEFAULT_MIX) and set(DEFAULT_MIX) <= set(sensor_kinds())
    assert np.array_equal(city.locate(reg.lat, reg.lon), reg.community)
    assert reg.lookup(["AQ-310101-000001"]).tolist() == [0]


# ------------------------------------------------------------------ id index, venues


def test_id_index_without_pattern_and_unsorted() -> None:
    ids = np.array([b"b-2", b"a-10", b"c-1"])
    index = IdIndex(ids)
    assert index.lookup(["c-1", "a-10", "a-1", "b-2"]).tolist() == [2, 1, -1, 0]
    patterned = IdIndex(ids[:0].astype("S3"), "A-D")
    assert patterned.lookup(["a-1"]).tolist() == [-1]
    with pytest.raises(ValueError, match="duplicate id 'a-1'"):
        IdIndex(np.array([b"b-2", b"a-1", b"a-1"]))
    assert IdIndex(np.array([b"A-1", b"B-2"]), "A-D").searches_integers
    mixed = IdIndex(np.array([b"B-2", b"a-1"]), "A-D")  # not all follow: bytes instead
    assert not mixed.searches_integers
    assert mixed.lookup(["a-1", "B-2", "A-1"]).tolist() == [1, 0, -1]


def test_id_pattern_keys_sort_like_the_ids() -> None:
    pattern = IdPattern("AA-DDD")
    ids = np.array([b"AB-001", b"AA-999", b"ZZ-000", b"AB-000", b"A!-000"])
    keys = pattern.keys(ids)
    assert keys[-1] == -1
    assert np.argsort(keys[:-1]).tolist() == np.argsort(ids[:-1]).tolist()
    with pytest.raises(ValueError, match="too many"):
        IdPattern("D" * 19)


def test_venues(city: City) -> None:
    venues = load_default_venues()
    ids = venues.ids()
    assert 1500 < len(ids) < 3000 and all(re.fullmatch(r"V-3101\d\d-\d{4}", i) for i in ids)
    district = city.community_ancestors("district")[venues.community]
    assert [i[2:8] for i in ids] == city.level("district").code[district].tolist()
    assert venues.lookup([ids[10], "V-310106-9999", "x"]).tolist() == [10, -1, -1]
    again = generate_venues(city)
    assert again.ids() == ids


def test_a_sensor_may_stand_up_to_5_km_from_its_community_centre(city: City) -> None:
    """The generated model places communities only roughly: 5 km of slack (as far as
    City.locate looks for a community) before a position is refused."""
    comm = city.level("community")
    code, lat, lon = comm.code[0], float(comm.lat[0]), float(comm.lon[0])
    head = "sensor_id,kind,community,lat,lon\n"
    for km, ok in ((4.9, True), (5.1, False)):
        text = head + f"AQ-1,air_quality,{code},{lat + km / 111.195:.6f},{lon}\n"
        if ok:
            assert len(SensorRegistry.from_csv_text(text, city, "x.csv")) == 1
        else:
            with pytest.raises(RegistryError, match=rf"x.csv:2: .* is {km} km from the centre"):
                SensorRegistry.from_csv_text(text, city, "x.csv")

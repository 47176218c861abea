"""Input manifests (spec §1.1): streaming parser and output lines."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from labelloop.core.errors import ManifestError
from labelloop.core.manifest import (
    MAX_LINE_CHARS,
    MAX_VALUE_CHARS,
    ManifestRecord,
    output_line,
    output_line_json,
    parse_manifest,
)


def parse(lines, **kwargs):
    return list(parse_manifest(lines, **kwargs))


def bad_reason(line):
    """The reason given for one bad line (placed on line 1)."""
    with pytest.raises(ManifestError) as info:
        parse([line])
    assert info.value.details[0]["line"] == 1
    return info.value.details[0]["reason"]


# --- good lines ----------------------------------------------------------------------------------


def test_records_keep_the_original_text_and_pick_out_the_source():
    lines = [
        '{"source-ref": "s3://acme-raw/images/0001.jpg", "camera": "front"}\n',
        '{"source": "The box was crushed."}\n',
    ]
    assert parse(lines) == [
        ManifestRecord(1, lines[0].rstrip("\n"), None, "s3://acme-raw/images/0001.jpg", False),
        ManifestRecord(2, lines[1].rstrip("\n"), "The box was crushed.", None, False),
    ]


@pytest.mark.parametrize(
    "ref",
    [
        "s3://bucket/key.jpg",
        "gs://bucket/key.jpg",
        "file:///data/x.png",
        "https://example.com/a.jpg",
        "http://localhost:9000/a.jpg",
        "az://container/blob",
        "images/0001.jpg",
        "/data/images/0001.jpg",
        "s3://bucket/dir with space/é.jpg",
    ],
)
def test_good_source_refs(ref):
    assert parse([json.dumps({"source-ref": ref})])[0].source_ref == ref


def test_prior_label_marks_chained_lines():
    lines = [
        '{"source-ref": "s3://b/1.jpg", "pet": 1, "pet-metadata": {"class-name": "dog"}}',
        '{"source-ref": "s3://b/2.jpg", "other": 1}',
    ]
    assert [r.prior_label for r in parse(lines, label_attribute_name="pet")] == [True, False]
    assert [r.prior_label for r in parse(lines)] == [False, False]


def test_bytes_lines_crlf_blank_lines_and_bom():
    data = [b"\xef\xbb\xbf{\"source\": \"a\"}\r\n", b"\r\n", b"   \n", b'{"source": "\xc3\xa9"}\r\n']
    records = parse(data)
    assert [(r.line_no, r.source, r.text) for r in records] == [
        (1, "a", '{"source": "a"}'),
        (4, "é", '{"source": "é"}'),
    ]


def test_a_whole_document_is_split_on_newlines():
    doc = '{"source": "a"}\r\n\n{"source": "b"}\n'
    assert [(r.line_no, r.source) for r in parse(doc)] == [(1, "a"), (3, "b")]
    assert [(r.line_no, r.source) for r in parse(doc.encode())] == [(1, "a"), (3, "b")]


def test_limits_are_inclusive():
    value = "x" * MAX_VALUE_CHARS
    assert parse([json.dumps({"source": value})])[0].source == value
    line = json.dumps({"source": "a", **{f"p{i}": "y" * 19_000 for i in range(5)}})
    line = line[:-1] + ', "z": "' + "z" * (MAX_LINE_CHARS - len(line) - 9) + '"}'
    assert len(line) == MAX_LINE_CHARS
    assert len(parse([line])) == 1
    assert bad_reason(line[:-2] + 'z"}') == "line is 100,001 characters; the limit is 100,000"


# --- bad lines -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('{"source": "a" "x": 1}', "not valid JSON (Expecting ',' delimiter at column 16)"),
        ('{"source": "a"', "not valid JSON (Expecting ',' delimiter at column 15)"),
        ("{'source': 'a'}", "not valid JSON (Expecting property name enclosed in double quotes "
                            "at column 2)"),
        ('{"source": "a"} {"source": "b"}', "not valid JSON (Extra data at column 17)"),
        ('["source", "a"]', "must be a JSON object, not an array"),
        ('"s3://b/k.jpg"', "must be a JSON object, not a string"),
        ("null", "must be a JSON object, not null"),
        ('{"source": "a", "source-ref": "s3://b/k"}', "has both 'source' and 'source-ref'"),
        ('{"camera": "front"}', "needs 'source-ref' or 'source'"),
        ("{}", "needs 'source-ref' or 'source'"),
        ('{"source-ref": 5}', "'source-ref' must be a string, not a number"),
        ('{"source-ref": null}', "'source-ref' must be a string, not null"),
        ('{"source-ref": ["s3://b/k"]}', "'source-ref' must be a string, not an array"),
        ('{"source-ref": {"uri": "s3://b/k"}}', "'source-ref' must be a string, not an object"),
        ('{"source-ref": ""}', "'source-ref' must not be empty"),
        ('{"source-ref": "   "}', "'source-ref' must not be empty"),
        ('{"source-ref": " s3://b/k"}',
         "'source-ref' ' s3://b/k' has leading/trailing whitespace or control characters"),
        ('{"source-ref": "s3://b/k\\n"}',
         "'source-ref' 's3://b/k\\n' has leading/trailing whitespace or control characters"),
        ('{"source-ref": "s3://"}', "'source-ref' 's3://' is not a valid URI"),
        ('{"source-ref": "://b/k"}', "'source-ref' '://b/k' is not a valid URI"),
        ('{"source-ref": "3s://b/k"}', "'source-ref' '3s://b/k' is not a valid URI"),
        ('{"source": ""}', "'source' must not be empty"),
        ('{"source": 12}', "'source' must be a string, not a number"),
        ('{"source": true}', "'source' must be a string, not a boolean"),
        ('{"source": null}', "'source' must be a string, not null"),
        ('{"source": "a", "$x": 1}', "key '$x' may not start with '$'"),
        (b'{"source": "\xff"}', "not valid UTF-8 (byte 0xff at offset 12)"),
        (json.dumps({"source": "x" * (MAX_VALUE_CHARS + 1)}),
         "value of 'source' is 20,001 characters; the limit is 20,000"),
        (json.dumps({"source": "a", "note": "n" * 25_000}),
         "value of 'note' is 25,000 characters; the limit is 20,000"),
        ('{"source": "a", "pad": "' + " " * 100_097 + '"}',
         "line is 100,123 characters; the limit is 100,000"),
    ],
)
def test_bad_lines(line, reason):
    assert bad_reason(line) == reason


def test_errors_are_collected_then_raised_at_the_end():
    lines = [
        '{"source": "ok 1"}',
        "",
        "not json",
        '{"source": "ok 2"}',
        '{"camera": "front"}',
    ]
    seen = []
    with pytest.raises(ManifestError) as info:
        for record in parse_manifest(lines):
            seen.append(record.line_no)
    # records stop at the first bad line: the caller's transaction rolls back anyway
    assert seen == [1]
    error = info.value
    assert error.message == (
        "input manifest has 2 bad line(s); first: line 3: "
        "not valid JSON (Expecting value at column 1)"
    )
    assert error.details == [
        {"line": 3, "reason": "not valid JSON (Expecting value at column 1)"},
        {"line": 5, "reason": "needs 'source-ref' or 'source'"},
    ]


def test_details_are_capped_at_max_errors_but_all_are_counted():
    lines = ["{}"] * 120
    with pytest.raises(ManifestError) as info:
        parse(lines, max_errors=50)
    assert len(info.value.details) == 50
    assert info.value.details[-1]["line"] == 50
    assert info.value.message.startswith("input manifest has 120 bad line(s); first: line 1: ")


@pytest.mark.parametrize("lines", [[], [""], ["\n", "  \r\n"], "", b"\n\n"])
def test_a_manifest_without_data_objects_is_an_error(lines):
    with pytest.raises(ManifestError) as info:
        parse(lines)
    assert info.value.message == "input manifest has no data objects"


# --- line numbers (property) ---------------------------------------------------------------------

_sources = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=20)


@given(st.lists(st.one_of(st.none(), _sources), min_size=1, max_size=30), st.booleans(), st.booleans())
def test_line_numbers_count_blank_lines_with_lf_or_crlf(rows, crlf, as_bytes):
    """``None`` rows are blank lines; the rest are data objects."""
    ending = "\r\n" if crlf else "\n"
    doc = "".join(("" if row is None else json.dumps({"source": row})) + ending for row in rows)
    expected = [(i, row) for i, row in enumerate(rows, start=1) if row is not None]
    data = doc.encode() if as_bytes else doc
    lines = data.splitlines(keepends=True) if as_bytes else doc.split("\n")
    if not expected:
        with pytest.raises(ManifestError):
            parse(lines)
        return
    assert [(r.line_no, r.source) for r in parse(lines)] == expected


# --- output lines --------------------------------------------------------------------------------

META = {"class-name": "dog", "confidence": 0.87, "type": "groundtruth/image-classification"}


def test_output_line_keeps_other_values_as_written_and_compacts_like_ground_truth():
    line = '{"source-ref":"s3://b/1.jpg",  "camera" : "front view", "n": 1.50, "é": "\\u00e9 \\" , "}'
    out = output_line(line, "pet", 1, META)
    assert out == (
        '{"source-ref":"s3://b/1.jpg","camera":"front view","n":1.50,"é":"\\u00e9 \\" , ",'
        '"pet":1,"pet-metadata":{"class-name":"dog","confidence":0.87,'
        '"type":"groundtruth/image-classification"}}'
    )


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("{}", '{"pet":1,"pet-metadata":{}}'),
        ("{ }", '{"pet":1,"pet-metadata":{}}'),
        ('{"source": "a" }\r\n', '{"source":"a","pet":1,"pet-metadata":{}}'),
        ('{"source": "ü"}', '{"source":"ü","pet":1,"pet-metadata":{}}'),
    ],
)
def test_output_line_edge_cases(line, expected):
    assert output_line(line, "pet", 1, {}) == expected


def test_output_line_writes_non_ascii_as_is():
    out = output_line('{"source": "a"}', "tags", ["çà"], {"class-map": {"0": "ñ"}})
    assert out == '{"source":"a","tags":["çà"],"tags-metadata":{"class-map":{"0":"ñ"}}}'


def test_output_line_replaces_existing_label_keys_and_moves_them_last():
    line = '{"source": "a", "pet": 0, "pet-metadata": {"old": true}, "id": 7}'
    out = output_line(line, "pet", 2, {"new": True})
    assert out == '{"source":"a","id":7,"pet":2,"pet-metadata":{"new":true}}'
    assert list(json.loads(out)) == ["source", "id", "pet", "pet-metadata"]


def test_output_line_ignores_the_name_inside_values():
    line = '{"source": "the \\"pet\\" key", "note": {"pet": 1}}'
    out = output_line(line, "pet", 3, {})
    assert out == '{"source":"the \\"pet\\" key","note":{"pet":1},"pet":3,"pet-metadata":{}}'


def test_output_line_sees_keys_written_with_escapes():
    line = '{"source": "a", "\\u0070et": 0}'
    assert json.loads(output_line(line, "pet", 1, {})) == {"source": "a", "pet": 1, "pet-metadata": {}}


def test_output_line_rejects_non_objects():
    with pytest.raises(ValueError):
        output_line('["source"]', "pet", 1, {})


_json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=10),
)
_json_values = st.recursive(
    _json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.text(max_size=5), children, max_size=3),
    ),
    max_leaves=8,
)
_keys = st.text(max_size=8).filter(
    lambda k: k not in ("source", "pet", "pet-metadata") and not k.startswith("$")
)


@given(
    st.dictionaries(_keys, _json_values, max_size=5),
    st.text(min_size=1, max_size=20),
    _json_values,
    st.dictionaries(st.text(max_size=5), _json_values, max_size=3),
    st.sampled_from([{}, {"ensure_ascii": False}, {"separators": (",", ":")}, {"indent": None}]),
)
def test_output_line_equals_input_plus_two_keys(extra, source, value, metadata, dump_options):
    obj = {"source": source, **extra}
    line = json.dumps(obj, **dump_options)
    [record] = parse([line], label_attribute_name="pet")
    out = output_line(record.text, "pet", value, metadata)
    parsed = json.loads(out)
    assert parsed == {**obj, "pet": value, "pet-metadata": metadata}
    assert list(parsed)[-2:] == ["pet", "pet-metadata"]
    assert "\n" not in out


@given(st.dictionaries(_keys, _json_values, max_size=5), _json_values, _json_values)
def test_output_line_replaces_prior_labels(extra, old, new):
    obj = {"source": "s", "pet": old, **extra, "pet-metadata": {"old": old}}
    out = output_line(json.dumps(obj), "pet", new, {"new": 1})
    expected = {k: v for k, v in obj.items() if k not in ("pet", "pet-metadata")}
    assert json.loads(out) == {**expected, "pet": new, "pet-metadata": {"new": 1}}
    assert list(json.loads(out))[-2:] == ["pet", "pet-metadata"]


@pytest.mark.parametrize("line", [
    '{"source-ref": "s3://b/1.jpg"}',
    '{"source": "caf\\u00e9", "x": 1}',
    '{"source-ref": "s3://b/1.jpg", "pet": 0, "pet-metadata": {}}',
    '{}',
])
def test_output_line_json_splices_stored_json_like_output_line(line):
    value, metadata = 1, {"class-name": "café", "confidence": 0.93}
    expected = output_line(line, "pet", value, metadata)
    for stored in (json.dumps(metadata), json.dumps(metadata, ensure_ascii=False)):  # older rows are ASCII-escaped
        assert output_line_json(line, "pet", json.dumps(value), stored) == expected
    assert json.loads(expected)["pet-metadata"]["class-name"] == "café"

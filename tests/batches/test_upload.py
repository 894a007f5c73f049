"""Reading batch uploads: both formats, hints for identity resolution, and a bad file refused whole."""

from __future__ import annotations

import json

import pytest

from hub.batches.upload import BatchParams, parse_upload
from hub.errors import HubError
from hub.model.verification import VerificationScope

PARAMS = BatchParams(officer="Lê Văn Tám", purpose="Xác minh lại định kỳ (Điều 44)",
                     scopes=[VerificationScope.IDENTITY, VerificationScope.BANK_ACCOUNTS])
GOOD_ID = "079203001234"


def _jsonl(*rows: object) -> bytes:
    return "\n".join(json.dumps(r, ensure_ascii=False) for r in rows).encode()


def test_json_lines_give_one_request_per_subject_with_the_batch_purpose() -> None:
    reqs = parse_upload(_jsonl({"person_id": GOOD_ID, "case_ref": "C-1"},
                               {"full_name": "Nguyễn Văn Hoà", "birth_year": 1980, "case_ref": "C-2"}), "jsonl", PARAMS)
    assert [r.case_ref for r in reqs] == ["C-1", "C-2"]
    assert reqs[0].person_id == GOOD_ID and reqs[0].officer == PARAMS.officer and reqs[0].scopes == PARAMS.scopes
    assert reqs[1].person_id is None and reqs[1].hints is not None and reqs[1].hints.birth_year == 1980


def test_csv_with_a_bom_and_blank_optional_columns() -> None:
    body = ("\ufeffperson_id,case_ref,full_name,birth_date,birth_year,province_code\n"
            f"{GOOD_ID},C-1,,,,\n"
            ",C-2,Trần Thị Hòa,1990-02-03,,79\n").encode()
    reqs = parse_upload(body, "csv", PARAMS)
    assert reqs[0].person_id == GOOD_ID and reqs[0].hints is None
    assert reqs[1].hints is not None and str(reqs[1].hints.birth_date) == "1990-02-03"


def test_every_bad_line_is_named_and_nothing_is_accepted() -> None:
    body = _jsonl({"person_id": GOOD_ID, "case_ref": "C-1"},
                  {"person_id": "079203001235x", "case_ref": "C-2"},  # not an ID
                  {"person_id": GOOD_ID},  # no case
                  {"person_id": GOOD_ID, "case_ref": "C-4", "salary": 1}) + b"\n{not json"
    with pytest.raises(HubError) as caught:
        parse_upload(body, "jsonl", PARAMS)
    assert caught.value.code == "REQUEST_INVALID"
    errors = caught.value.extra["errors"]
    assert [e["line"] for e in errors] == [2, 3, 4, 5]
    assert errors[1]["code"] == "PURPOSE_MISSING"


@pytest.mark.parametrize("body, fmt, rule", [(b"", "jsonl", "empty"), (b"name\nx\n", "csv", "csv_header"),
                                             (b"\xff\xfe", "jsonl", "encoding")])
def test_unusable_files(body: bytes, fmt: str, rule: str) -> None:
    with pytest.raises(HubError) as caught:
        parse_upload(body, fmt, PARAMS)
    assert caught.value.rule == rule

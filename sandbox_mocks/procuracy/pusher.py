"""Playing the procuracy calling the hub: protests (kháng nghị) and recommendations (kiến nghị) about
enforcement cases, as procuracy-signed THADS envelopes holding edXML, for the framework pusher.

    items = action_push_items(world, key_dir, count=30)
    send, close = xml_sender("http://127.0.0.1:8000/v1/inbound/procuracy")
    report = await push(items, send, rate_per_s=15)
    await close()

Each item is ready bytes (signed once), so a repeat is byte-identical. The envelope header says
From=procuracy, To=hub, Service=procuracy, Operation GuiKhangNghi or GuiKienNghi, CaseRef = the case; the
edXML inside names the same case in HoSoThiHanhAn/MaHoSo. The contract is
mappings/procuracy/contracts/openapi.json (``webhooks``).
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from adapters.envelope import EnvelopeFields, EnvelopeSigner, build_envelope
from sandbox_mocks.framework.pusher import Ack, PushItem, Send
from sandbox_mocks.procuracy.edxml import (
    PROBLEM_TYPE_PREFIX,
    PROTEST,
    RECOMMENDATION,
    Attachment,
    CaseInfo,
    EdxmlDocument,
    Organ,
    ResponseFor,
    build_edxml,
    case_province,
    document_id,
    enforcement_organ,
    problem_code,
    procuracy_organ,
    vn_date,
    vn_today,
)
from sandbox_mocks.seed.world import Judgment, World

XML_MEDIA_TYPE = "application/xml"
SERVICE = "procuracy"
OPERATIONS = {PROTEST: "GuiKhangNghi", RECOMMENDATION: "GuiKienNghi"}
NOTATIONS = {PROTEST: "KN-VKS", RECOMMENDATION: "KNgh-VKS"}
ACTION_TTL = dt.timedelta(minutes=30)
PURPOSE = "Kiểm sát việc tuân theo pháp luật trong thi hành án dân sự"

# (subject, what the procuracy found), {decision} and {judgment} filled in when known.
_RECOMMENDATIONS = (
    ("Kiến nghị về việc chậm thông báo quyết định thi hành án{decision}",
     "Quyết định thi hành án{decision} không được gửi, thông báo cho đương sự trong thời hạn 03 ngày làm việc "
     "kể từ ngày ra quyết định theo Điều 39 Luật Thi hành án dân sự."),
    ("Kiến nghị khắc phục vi phạm trong việc xác minh điều kiện thi hành án{judgment}",
     "Chấp hành viên chưa tiến hành xác minh điều kiện thi hành án trong thời hạn 10 ngày kể từ ngày hết "
     "thời hạn tự nguyện thi hành án."),
    ("Kiến nghị về việc chậm ra quyết định phong tỏa tài khoản của người phải thi hành án{judgment}",
     "Có căn cứ xác định người phải thi hành án có tài khoản tại ngân hàng nhưng cơ quan thi hành án chưa ra "
     "quyết định phong tỏa tài khoản, tạo điều kiện cho việc tẩu tán tài sản."),
    ("Kiến nghị về việc chưa thu khoản án phí theo bản án{judgment}",
     "Khoản án phí dân sự sơ thẩm chưa được ra quyết định thi hành án chủ động."),
)
_PROTESTS = (
    ("Kháng nghị quyết định cưỡng chế kê biên tài sản{decision}",
     "Tài sản bị kê biên là tài sản chung của vợ chồng nhưng chưa xác định phần sở hữu của người phải thi hành "
     "án và chưa thông báo cho người có quyền sở hữu chung."),
    ("Kháng nghị quyết định hoãn thi hành án{decision}",
     "Quyết định hoãn thi hành án không có căn cứ theo khoản 1 Điều 48 Luật Thi hành án dân sự."),
    ("Kháng nghị quyết định đình chỉ thi hành án{decision}",
     "Việc đình chỉ thi hành án khi người được thi hành án chưa có văn bản từ chối nhận tài sản là không đúng "
     "quy định tại Điều 50 Luật Thi hành án dân sự."),
    ("Kháng nghị quyết định phong tỏa tài khoản{decision}",
     "Quyết định phong tỏa tài khoản vượt quá số tiền người phải thi hành án có nghĩa vụ thi hành."),
)
_SIGNERS = (("Viện trưởng", "Nguyễn Văn Hùng"), ("Phó Viện trưởng", "Trần Thị Minh Thư"),
            ("Phó Viện trưởng", "Lê Quang Vinh"), ("Kiểm sát viên", "Phạm Thị Thanh Hương"))
_OFFICERS = ("Kiểm sát viên Đỗ Văn Bình", "Kiểm sát viên Hoàng Thị Lan", "Kiểm sát viên Vũ Đức Thắng")


@dataclass(frozen=True)
class CaseLink:
    """A case the procuracy writes about: its reference and, when known, the judgment it enforces."""

    case_ref: str
    judgment: Judgment | None = None


def world_cases(world: World) -> list[CaseLink]:
    """One enforcement case per judgment of the world, "THADS-<province>-<year>-<nnnn>" by the judgment's
    court province and year of effect, numbered in the world's order."""
    return [CaseLink(f"THADS-{j.court_province_code}-{j.effective_on.year}-{i:04d}", j)
            for i, j in enumerate(world.judgments, start=1)]


def action_header(kind: str, case_ref: str, *, officer: str | None = None,
                  ttl: dt.timedelta = ACTION_TTL) -> EnvelopeFields:
    now = dt.datetime.now(dt.UTC)
    return EnvelopeFields(message_id=str(uuid.uuid4()), from_agency="procuracy", to_agency="hub", service=SERVICE,
                          operation=OPERATIONS[kind], created=now, expires=now + ttl, case_ref=case_ref,
                          officer=officer, purpose=PURPOSE)


def _content_id(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "-", text)[:100]


def action_document(kind: str, *, case: CaseInfo, number: int, promulgated: dt.date, subject: str, text: str,
                    procuracy: Organ, office: Organ, signer: tuple[str, str],
                    responds_to: Sequence[ResponseFor] = ()) -> EdxmlDocument:
    """A protest (KN) or recommendation (KNGH) of ``procuracy`` to ``office`` about ``case``, with the
    document itself as a text attachment."""
    if kind not in OPERATIONS:
        raise ValueError(f"the procuracy pushes protests and recommendations, not {kind!r}")
    notation = NOTATIONS[kind]
    code = f"{number}/{notation}"
    place = procuracy.name.removeprefix("Viện kiểm sát nhân dân ").removeprefix("tỉnh ").removeprefix("thành phố ")
    body = (f"{procuracy.name.upper()}\nSố: {code}\n{place}, ngày {vn_date(promulgated)}\n\n{subject.upper()}\n\n"
            f"Kính gửi: {office.name}\nHồ sơ thi hành án: {case.case_ref}\n\n{text}\n")
    attachment = Attachment(name=f"{number}-{notation}.txt", content_type="text/plain; charset=utf-8",
                            data=body.encode("utf-8"), content_id=_content_id(f"{number}-{notation}-{case.case_ref}"),
                            description=f"Toàn văn {subject[0].lower()}{subject[1:]}"[:500])
    return EdxmlDocument(
        sender=procuracy, recipients=(office,), number=str(number), notation=notation, place=place,
        promulgated=promulgated, document_type=kind, subject=subject, content=text, signer_competence="Trực tiếp",
        signer_position=signer[0], signer_name=signer[1],
        due_date=promulgated + dt.timedelta(days=15 if kind == PROTEST else 30), priority=1 if kind == PROTEST else 0,
        page_amount=1, responds_to=tuple(responds_to),
        document_id=document_id(procuracy.organ_id, promulgated, str(number), notation), case=case,
        attachments=(attachment,))


def signed_action(signer: EnvelopeSigner, doc: EdxmlDocument, *, officer: str | None = None,
                  ttl: dt.timedelta = ACTION_TTL) -> PushItem:
    """The procuracy-signed envelope holding ``doc``, as a push item whose id is the MessageId."""
    header = action_header(doc.document_type, doc.case.case_ref, officer=officer, ttl=ttl)
    body = signer.sign_bytes(build_envelope(header, build_edxml(doc)))
    return PushItem(item_id=header.message_id, body=body, content_type=XML_MEDIA_TYPE)


def action_push_items(world: World, key_dir: Path, *, count: int, case_refs: Sequence[str] | None = None,
                      seed: int = 0) -> list[PushItem]:
    """``count`` signed protests and recommendations (about one in three is a protest; with two or more
    items both kinds are present), each about one case: ``case_refs`` in turn, or the world's cases."""
    if count < 0:
        raise ValueError("count must not be negative")
    cases = [CaseLink(ref) for ref in case_refs] if case_refs is not None else world_cases(world)
    if not cases:
        raise ValueError("no case to write about")
    rng = random.Random(f"procuracy-actions:{seed}")
    signer = EnvelopeSigner.from_key_dir(key_dir, "procuracy")
    today = vn_today()
    numbers = {PROTEST: rng.randint(1, 40), RECOMMENDATION: rng.randint(1, 60)}
    items: list[PushItem] = []
    for i in range(count):
        kind = PROTEST if (i % 3 == 1) else RECOMMENDATION
        link = cases[i % len(cases)]
        province = link.judgment.court_province_code if link.judgment else case_province(link.case_ref)
        procuracy, office = procuracy_organ(province), enforcement_organ(province)
        judgment = link.judgment.number if link.judgment else None
        decision = f"{rng.randint(10, 999)}/QĐ-CCTHADS"
        subject, text = rng.choice(_PROTESTS if kind == PROTEST else _RECOMMENDATIONS)
        fill = {"decision": f" số {decision}", "judgment": f" số {judgment}" if judgment else ""}
        doc = action_document(kind, case=CaseInfo(case_ref=link.case_ref, judgment=judgment, decision=decision,
                                                  office=office.name),
                              number=numbers[kind], promulgated=today - dt.timedelta(days=rng.randint(0, 3)),
                              subject=subject.format(**fill), text=text.format(**fill), procuracy=procuracy,
                              office=office, signer=rng.choice(_SIGNERS))
        numbers[kind] += 1
        items.append(signed_action(signer, doc, officer=rng.choice(_OFFICERS)))
    return items


# --- sending -------------------------------------------------------------------------------------------
def refusal_code(response: httpx.Response) -> tuple[str | None, str | None]:
    """(registry code, detail) of a refusal: problem+json (``code``, else the ``type`` URN) or an XML
    problem document; (None, None) when the body says neither."""
    media = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if media.endswith("json"):
        try:
            payload = json.loads(response.content)
        except ValueError:
            return None, None
        if not isinstance(payload, dict):
            return None, None
        code = payload.get("code")
        kind = payload.get("type")
        if not code and isinstance(kind, str) and kind.startswith(PROBLEM_TYPE_PREFIX):
            code = kind.removeprefix(PROBLEM_TYPE_PREFIX)
        detail = payload.get("detail")
        return (str(code) if code else None), (str(detail)[:200] if detail else None)
    if media.endswith("xml"):
        return problem_code(response.content)
    return None, None


def xml_sender(url: str, *, timeout_s: float = 10) -> tuple[Send, Callable[[], Awaitable[None]]]:
    """(send, close) for :func:`sandbox_mocks.framework.pusher.push`: each item POSTed to ``url`` as it is;
    2xx is acknowledged, anything else reported with the code of its problem body. The HTTP client is made
    in the loop of the first send (a client belongs to one loop); ``close`` must run in that loop too."""
    client: httpx.AsyncClient | None = None

    async def send(item: PushItem) -> Ack:
        nonlocal client
        if client is None:
            client = httpx.AsyncClient(timeout=timeout_s, follow_redirects=False)
        response = await client.post(url, content=item.body,
                                     headers={"Content-Type": item.content_type, **dict(item.headers)})
        if 200 <= response.status_code < 300:
            return Ack(status=response.status_code, acknowledged=True)
        code, detail = refusal_code(response)
        return Ack(status=response.status_code, acknowledged=False, code=code, detail=detail)

    async def close() -> None:
        nonlocal client
        if client is not None:
            await client.aclose()
            client = None

    return send, close

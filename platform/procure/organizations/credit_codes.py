"""Unified social credit codes (统一社会信用代码, GB 32100-2015).

Layout of the 18 characters:

* char 1: registering authority (登记管理部门), e.g. 1 机构编制, 5 民政, 9 工商/市场监管,
  N 农业, Y 其他;
* char 2: kind of entity within that authority (机构类别), e.g. under 5: 1 社会团体,
  2 民办非企业单位, 3 基金会;
* chars 3–8: division code of the registering office (GB/T 2260);
* chars 9–17: entity identifier (the former organization code, GB 11714);
* char 18: check character, mod 31 (GB/T 17710).

Validation is python-stdnum's ``stdnum.cn.uscc``; the checksum is never
hand-written here. One gap of stdnum 2.2: it requires chars 1–8 to be digits,
which refuses the standard's letter authorities (A 军队, N 农业 — rural
collective economic organizations —, Y 其他). For those, and only when chars
2–8 are digits, the check character is verified with stdnum's own
``calc_check_digit``.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from stdnum.cn import uscc
from stdnum.exceptions import InvalidChecksum, InvalidFormat, InvalidLength, ValidationError

from procure.errors import DomainError

LENGTH = 18
# Characters the standard uses (no I, O, Z, S, V), the same alphabet stdnum checks.
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
LETTER_AUTHORITIES = ("A", "N", "Y")

# GB 32100-2015, table 1 (registering authority) and table 2 (kind within it).
AUTHORITIES: dict[str, str] = {
    "1": _l("机构编制"),
    "2": _l("外交"),
    "3": _l("司法行政"),
    "4": _l("文化"),
    "5": _l("民政"),
    "6": _l("旅游"),
    "7": _l("宗教"),
    "8": _l("工会"),
    "9": _l("工商（市场监管）"),
    "A": _l("中央军委改革和编制办公室"),
    "N": _l("农业（农业农村）"),
    "Y": _l("其他"),
}

KINDS: dict[str, dict[str, str]] = {
    "1": {"1": _l("机关"), "2": _l("事业单位"), "3": _l("中央编办直接管理机构编制的群众团体"), "9": _l("其他")},
    "2": {"1": _l("外国常住新闻机构"), "9": _l("其他")},
    "3": {
        "1": _l("律师执业机构"),
        "2": _l("公证处"),
        "3": _l("基层法律服务所"),
        "4": _l("司法鉴定机构"),
        "5": _l("仲裁委员会"),
        "9": _l("其他"),
    },
    "4": {"1": _l("外国在华文化中心"), "9": _l("其他")},
    "5": {"1": _l("社会团体"), "2": _l("民办非企业单位（社会服务机构）"), "3": _l("基金会"), "9": _l("其他")},
    "6": {"1": _l("外国旅游部门常驻代表机构"), "2": _l("港澳台地区旅游部门常驻内地（大陆）代表机构"), "9": _l("其他")},
    "7": {"1": _l("宗教活动场所"), "2": _l("宗教院校"), "9": _l("其他")},
    "8": {"1": _l("基层工会"), "9": _l("其他")},
    "9": {"1": _l("企业"), "2": _l("个体工商户"), "3": _l("农民专业合作社")},
    "A": {"1": _l("军队事业单位"), "9": _l("其他")},
    "N": {"1": _l("组级集体经济组织"), "2": _l("村级集体经济组织"), "3": _l("乡镇级集体经济组织"), "9": _l("其他")},
    "Y": {"1": _l("其他（不再细分）")},
}


@dataclass(frozen=True)
class CodeInfo:
    """What a valid code says about its holder."""

    code: str
    authority_char: str
    kind_char: str
    division_code: str
    entity_code: str

    @property
    def prefix(self) -> str:
        return self.authority_char + self.kind_char

    @property
    def authority(self) -> str:
        label = AUTHORITIES.get(self.authority_char)
        return str(label) if label is not None else str(_l("未知登记管理部门（%(c)s）", c=self.authority_char))

    @property
    def kind(self) -> str:
        label = KINDS.get(self.authority_char, {}).get(self.kind_char)
        if label is None:
            return str(_l("标准未列出的类别（%(c)s）", c=self.kind_char))
        return str(label)

    @property
    def known_kind(self) -> bool:
        return self.kind_char in KINDS.get(self.authority_char, {})


def normalize(raw: str | None) -> str:
    """Spaces, hyphens, full-width characters and lowercase are tolerated."""
    text = unicodedata.normalize("NFKC", raw or "").replace("—", "-").replace("–", "-")
    return uscc.compact(text)


def _check_letter_authority(code: str) -> None:
    """stdnum 2.2 refuses letter authorities (N, Y, A) of the standard; check
    those codes' format here and their check character with stdnum."""
    if code[0] not in LETTER_AUTHORITIES or not code[1:8].isdigit():
        raise InvalidFormat()
    if any(c not in ALPHABET for c in code[8:]):
        raise InvalidFormat()
    if code[-1] != uscc.calc_check_digit(code[:-1]):
        raise InvalidChecksum()


def _format_message(code: str) -> str:
    """The precise reason a code of the right length has a wrong character."""
    for position, char in enumerate(code, start=1):
        if position == 1:
            allowed = char.isdigit() or char in LETTER_AUTHORITIES
        elif position <= 8:
            allowed = char.isdigit()
        else:
            allowed = char in ALPHABET
        if not allowed:
            if position == 1:
                return str(
                    _l("第 1 位“%(c)s”不是有效的登记管理部门代码（应为数字或字母 A、N、Y）。", c=char)
                )
            if position <= 8 and char in ALPHABET and position > 1:
                return str(_l("第 %(p)d 位“%(c)s”无效：第 2–8 位只能是数字。", p=position, c=char))
            if char in "IOZSV":
                return str(
                    _l("第 %(p)d 位“%(c)s”无效：统一社会信用代码不使用字母 I、O、Z、S、V。", p=position, c=char)
                )
            return str(_l("第 %(p)d 位“%(c)s”不是有效字符：只能使用数字和大写字母。", p=position, c=char))
    return str(_l("统一社会信用代码格式不正确。"))


def validate(raw: str | None) -> CodeInfo:
    """Normalise and validate; raise DomainError(field="credit_code") with a
    precise Chinese message, or return the decoded code."""
    code = normalize(raw)
    if not code:
        raise DomainError(_l("请输入统一社会信用代码。"), field="credit_code")
    try:
        try:
            code = uscc.validate(code)
        except InvalidFormat:
            if len(code) != LENGTH:
                raise
            _check_letter_authority(code)
    except InvalidLength:
        raise DomainError(
            _l("统一社会信用代码应为 18 位，您输入了 %(n)d 位。", n=len(code)), field="credit_code"
        ) from None
    except InvalidFormat:
        raise DomainError(_format_message(code), field="credit_code") from None
    except InvalidChecksum:
        raise DomainError(
            _l(
                "校验位错误：第 18 位应为“%(e)s”，您输入的是“%(c)s”。请核对营业执照或登记证书上的代码。",
                e=uscc.calc_check_digit(code[:-1]),
                c=code[-1],
            ),
            field="credit_code",
        ) from None
    except ValidationError:
        raise DomainError(_l("统一社会信用代码无效。"), field="credit_code") from None
    return decode(code)


def decode(code: str) -> CodeInfo:
    return CodeInfo(
        code=code,
        authority_char=code[0],
        kind_char=code[1],
        division_code=code[2:8],
        entity_code=code[8:17],
    )


def make_code(prefix: str, division_code: str, entity: str) -> str:
    """A valid code from its parts (demo data and tests): ``prefix`` the two
    authority/kind characters, ``entity`` the nine identifier characters."""
    body = f"{prefix}{division_code}{entity}"
    if len(body) != LENGTH - 1:
        raise ValueError(f"need 17 characters before the check character, got {body!r}")
    return body + uscc.calc_check_digit(body)

"""Unified social credit codes: validation messages, normalisation, decoding."""
import pytest
from stdnum.cn import uscc

from procure.errors import DomainError
from procure.organizations import credit_codes
from procure.organizations.services import code_mismatch

GOOD = credit_codes.make_code("52", "371321", "MJ0000017")


@pytest.fixture(autouse=True)
def _ctx(app):
    with app.test_request_context():
        yield


def message(raw):
    with pytest.raises(DomainError) as info:
        credit_codes.validate(raw)
    assert info.value.field == "credit_code"
    return str(info.value.message)


def test_generated_code_is_valid_for_stdnum():
    assert uscc.is_valid(GOOD)
    assert credit_codes.validate(GOOD).code == GOOD


@pytest.mark.parametrize(
    "raw",
    [GOOD.lower(), f" {GOOD[:2]} {GOOD[2:8]} {GOOD[8:]} ", f"{GOOD[:8]}-{GOOD[8:]}", GOOD.replace("3", "３")],
)
def test_spaces_hyphens_lowercase_and_fullwidth_are_normalised(raw):
    assert credit_codes.validate(raw).code == GOOD


def test_wrong_length_says_how_many():
    assert message(GOOD[:-1]) == "统一社会信用代码应为 18 位，您输入了 17 位。"
    assert "19 位" in message(GOOD + "1")


def test_empty():
    assert message("  ") == "请输入统一社会信用代码。"


def test_wrong_check_character_names_the_expected_one():
    wrong = "0" if GOOD[-1] != "0" else "1"
    text = message(GOOD[:-1] + wrong)
    assert "校验位错误" in text and f"应为“{GOOD[-1]}”" in text and f"输入的是“{wrong}”" in text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (GOOD[:3] + "A" + GOOD[4:], "第 4 位“A”无效：第 2–8 位只能是数字。"),
        (GOOD[:10] + "I" + GOOD[11:], "第 11 位“I”无效：统一社会信用代码不使用字母 I、O、Z、S、V。"),
        (GOOD[:10] + "中" + GOOD[11:], "第 11 位“中”不是有效字符：只能使用数字和大写字母。"),
        ("B" + GOOD[1:], "第 1 位“B”不是有效的登记管理部门代码（应为数字或字母 A、N、Y）。"),
    ],
)
def test_invalid_characters_are_located(raw, expected):
    assert message(raw) == expected


def test_letter_authorities_of_the_standard_are_accepted():
    # stdnum 2.2 refuses N/Y/A first characters; the standard has them.
    code = credit_codes.make_code("N2", "371321", "MF0000012")
    assert not uscc.is_valid(code)
    info = credit_codes.validate(code)
    assert (info.authority, info.kind) == ("农业（农业农村）", "村级集体经济组织")
    wrong = code[:-1] + ("0" if code[-1] != "0" else "1")
    assert "校验位错误" in message(wrong)


def test_decoding():
    info = credit_codes.validate(GOOD)
    assert info.authority == "民政"
    assert info.kind == "民办非企业单位（社会服务机构）"
    assert info.division_code == "371321"
    enterprise = credit_codes.validate(credit_codes.make_code("91", "371321", "MA0000011"))
    assert (enterprise.authority, enterprise.kind) == ("工商（市场监管）", "企业")
    organ = credit_codes.validate(credit_codes.make_code("13", "371321", "000000011"))
    assert organ.kind == "中央编办直接管理机构编制的群众团体"
    unknown = credit_codes.validate(credit_codes.make_code("57", "371321", "000000011"))
    assert not unknown.known_kind and "7" in unknown.kind


@pytest.mark.parametrize(
    ("org_type", "prefix", "mismatch"),
    [
        ("enterprise", "91", False),
        ("enterprise", "51", True),  # a civil-affairs social-group code on an "enterprise"
        ("social_group", "51", False),
        ("social_group", "52", True),
        ("social_service_agency", "52", False),
        ("foundation", "53", False),
        ("rural_collective", "N2", False),
        ("rural_collective", "91", True),
        ("individual", "92", False),
        ("public_institution_class2", "12", False),
    ],
)
def test_code_kind_against_type(org_type, prefix, mismatch):
    assert code_mismatch(org_type, credit_codes.make_code(prefix, "371321", "MA0000011")) is mismatch

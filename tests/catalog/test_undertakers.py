"""承接主体类型 cells: parsing and formatting."""
import pytest

from procure.catalog.models import UndertakerType
from procure.catalog.undertakers import LABELS, describe, format_cell, parse_cell


def test_every_type_has_a_label():
    assert set(LABELS) == {t.value for t in UndertakerType}
    assert str(LABELS["public_institution"]) == "事业单位（公益二类）"


@pytest.mark.parametrize(
    ("text", "types", "notes", "unknown"),
    [
        ("社会组织；群团组织", ["mass_organization", "social_organization"], {}, []),
        ("社会组织;企业、 村级组织，自然人,群团组织", [
            "enterprise", "individual", "mass_organization", "social_organization", "village_organization",
        ], {}, []),
        (" 企业（律师事务所）；社会组织 ", ["enterprise", "social_organization"], {"enterprise": "律师事务所"}, []),
        ("企业(会计师事务所)", ["enterprise"], {"enterprise": "会计师事务所"}, []),
        ("事业单位（公益二类）", ["public_institution"], {}, []),
        ("事业单位(公益二类)", ["public_institution"], {}, []),
        ("事业单位（公益二类）（检测机构）", ["public_institution"], {"public_institution": "检测机构"}, []),
        ("社会团体、民办非企业单位；基金会；社会服务机构", ["social_organization"], {}, []),
        ("村（居）委会；基层群众性自治组织", ["village_organization"], {}, []),
        ("个人；农村集体经济组织", ["individual", "rural_collective"], {}, []),
        ("企业（律师事务所、会计师事务所）", ["enterprise"], {"enterprise": "律师事务所、会计师事务所"}, []),
        ("社 会 组 织", ["social_organization"], {}, []),
        ("社会组织；居委", ["social_organization"], {}, ["居委"]),
        ("事业单位（公益一类）", [], {}, ["事业单位（公益一类）"]),
        ("企业（律师事务所", [], {}, ["企业（律师事务所"]),
        ("", [], {}, []),
        (None, [], {}, []),
        ("；；", [], {}, []),
    ],
)
def test_parse_cell(text, types, notes, unknown):
    assert parse_cell(text) == (types, notes, unknown)


def test_format_cell_is_canonical_and_inverse_of_parse():
    types, notes, _ = parse_cell("企业（律师事务所）、社会组织；事业单位（公益二类）")
    cell = format_cell(types, notes)
    assert cell == "社会组织；企业（律师事务所）；事业单位（公益二类）"
    assert parse_cell(cell) == (types, notes, [])
    every = [t.value for t in UndertakerType]
    notes = {t: f"说明（{i}）、其他" for i, t in enumerate(every)}
    assert parse_cell(format_cell(every, notes)) == (sorted(every), notes, [])


def test_describe_uses_display_labels(app):
    with app.test_request_context():
        assert describe(["enterprise", "social_organization"], {"enterprise": "律师事务所"}) == "社会组织、企业（律师事务所）"

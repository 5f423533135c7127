"""Keyboard only: an organization registers without a mouse (Tab, typing, arrow
keys, Space, Enter), gets one error, is taken to it from the error summary,
fixes it and submits. Nothing is clicked; the page's state is only read."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests import factories
from tests.organizations import files
from tests.organizations.conftest import fast_passwords  # noqa: F401  (autouse: scrypt once per password)

pytestmark = [pytest.mark.browser, pytest.mark.once_in_ci]

ACTIVE_ID = "() => document.activeElement ? document.activeElement.id : null"


def active_id(page) -> str | None:
    return page.evaluate(ACTIVE_ID)


def tab_to(page, element_id: str, *, key: str = "Tab", limit: int = 40) -> None:
    """Press Tab (or Shift+Tab) until the element ``element_id`` has the focus."""
    for _ in range(limit):
        if active_id(page) == element_id:
            return
        page.keyboard.press(key)
    raise AssertionError(f"#{element_id} not reached with {key} (focus on #{active_id(page)})")


def type_into(page, element_id: str, text: str) -> None:
    tab_to(page, element_id)
    page.keyboard.type(text)


def choose(page, element_id: str, value: str) -> None:
    """Pick an option of a <select> with the arrow keys."""
    tab_to(page, element_id)
    target, current = page.evaluate(
        "([id, value]) => { const s = document.getElementById(id);"
        " return [[...s.options].findIndex(o => o.value === value), s.selectedIndex]; }",
        [element_id, value],
    )
    assert target >= 0, f"no option {value} in #{element_id}"
    for _ in range(target - current):
        page.keyboard.press("ArrowDown")
    assert page.evaluate("id => document.getElementById(id).value", element_id) == value


def attach(page, element_id: str, name: str) -> None:
    """Open the file chooser of a file field with the keyboard and pick a file."""
    tab_to(page, element_id)
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Space")
    chooser.value.set_files({"name": name, "mimeType": "application/pdf", "buffer": files.pdf()})


def submit(page, button_id: str = "submit") -> None:
    tab_to(page, button_id)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def test_register_an_organization_by_keyboard(page, session):
    factories.officer("371321")  # the county's officer, who is told of the application
    session.commit()
    code = factories.credit_code("52")
    # File choosers are intercepted from the start (turning interception on
    # only when waiting for one races with the key press that opens it).
    page.on("filechooser", lambda _chooser: None)
    page.goto("/organizations/register")

    # The skip link is the first stop; Enter takes the focus to <main>.
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.getAttribute('href')") == "#main"
    expect(page.locator(":focus")).to_be_visible()
    page.keyboard.press("Enter")
    assert active_id(page) == "main"

    type_into(page, "name", "沂南县键盘社会工作服务中心")
    type_into(page, "credit_code", code)
    choose(page, "org_type", "social_service_agency")
    choose(page, "county", "371321")
    type_into(page, "address", "沂南县界湖街道键盘路 1 号")
    type_into(page, "legal_representative", "韩梅")
    type_into(page, "contact_person", "李雷")
    type_into(page, "phone", "0539-3226688")
    type_into(page, "email", "office@keyboard.example.com")
    tab_to(page, "budget_funded-0")  # the first answer, 否
    page.keyboard.press("Space")
    for declaration in ("declares_independent_liability", "declares_sound_accounts",
                        "declares_tax_social_insurance", "declares_no_major_violation"):
        tab_to(page, declaration)
        page.keyboard.press("Space")
    attach(page, "certificate", "登记证书.pdf")
    type_into(page, "account_name", "韩梅")
    type_into(page, "account_email", "hanmei@keyboard.example.com")
    type_into(page, "account_password", factories.PASSWORD)
    type_into(page, "account_password2", factories.PASSWORD + "x")  # the one mistake
    submit(page)

    # Not registered: the focus is on the error summary, which names the field.
    assert urlsplit(page.url).path == "/organizations/register"
    assert active_id(page) == "error-summary"
    summary = page.locator("#error-summary")
    expect(summary).to_have_attribute("role", "alert")
    expect(summary).to_contain_text("两次输入的密码不一致")
    confirm = page.locator("#account_password2")
    expect(confirm).to_have_attribute("aria-invalid", "true")
    expect(confirm).to_have_attribute("aria-describedby", "account_password2-error")
    expect(page.locator("#account_password2-error")).to_contain_text("两次输入的密码不一致")

    # The summary's link takes the focus to the field.
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.getAttribute('href')") == "#account_password2"
    page.keyboard.press("Enter")
    assert active_id(page) == "account_password2"

    # Fix it: passwords and files are never sent back, so type and attach again.
    page.keyboard.type(factories.PASSWORD)
    tab_to(page, "account_password", key="Shift+Tab")
    page.keyboard.type(factories.PASSWORD)
    tab_to(page, "certificate", key="Shift+Tab")
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Space")
    chooser.value.set_files({"name": "登记证书.pdf", "mimeType": "application/pdf", "buffer": files.pdf()})
    submit(page)

    # Registered: the page moves on (to confirm the email address).
    assert urlsplit(page.url).path != "/organizations/register", page.locator("main").inner_text()[:500]
    from procure.organizations.models import Organization

    session.expire_all()
    org = session.query(Organization).filter_by(credit_code=code).one()
    assert org.name == "沂南县键盘社会工作服务中心" and org.county.code == "371321"


# --- focus indicator -----------------------------------------------------------

_RING_JS = """() => {
  const e = document.activeElement, s = getComputedStyle(e);
  let bg = null;
  for (let p = e.parentElement; p && !bg; p = p.parentElement) {
    const c = getComputedStyle(p).backgroundColor;
    if (c && c !== 'rgba(0, 0, 0, 0)' && c !== 'transparent') bg = c;
  }
  return {style: s.outlineStyle, width: parseFloat(s.outlineWidth), color: s.outlineColor,
          background: bg || 'rgb(255, 255, 255)'};
}"""


def _luminance(rgb: str) -> float:
    channels = [float(v) / 255 for v in rgb[rgb.index("(") + 1:rgb.index(")")].split(",")[:3]]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_contrast_formula():
    assert round(contrast("rgb(255, 255, 255)", "rgb(0, 0, 0)"), 1) == 21.0
    assert round(contrast("rgb(248, 249, 250)", "rgb(13, 110, 253)"), 2) == 4.27  # the old site bar


def test_focus_ring_is_solid_and_contrasting(page):
    """Fields, buttons, links and the site bar's buttons, reached with Tab: a
    solid ring at least 2px wide and 3:1 against what is around it (WCAG 2.4.7,
    1.4.11)."""
    page.goto("/account/login")
    rings = {}
    for element_id in ("email", "password", "remember", "submit"):
        tab_to(page, element_id)
        rings[element_id] = page.evaluate(_RING_JS)
    page.keyboard.press("Tab")  # the "forgot password" link after the form
    rings["link"] = page.evaluate(_RING_JS)
    page.goto("/account/login")
    for _ in range(3):  # skip link, brand, first button of the site bar
        page.keyboard.press("Tab")
    rings["site bar button"] = page.evaluate(_RING_JS)
    for name, ring in rings.items():
        assert ring["style"] == "solid" and ring["width"] >= 2, (name, ring)
        assert contrast(ring["color"], ring["background"]) >= 3, (name, ring)


# --- 大字版 ---------------------------------------------------------------------


def test_larger_text_switch_by_keyboard_persists(page):
    page.goto("/organizations")
    assert page.evaluate("() => getComputedStyle(document.documentElement).fontSize") == "16px"
    tab_to_testid = "() => document.activeElement.dataset.testid"
    for _ in range(12):
        if page.evaluate(tab_to_testid) == "text-size":
            break
        page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_attribute("aria-pressed", "false")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert urlsplit(page.url).path == "/organizations"  # back on the same page
    for path in ("/organizations", "/account/login", "/"):
        page.goto(path)
        assert page.evaluate("() => getComputedStyle(document.documentElement).fontSize") == "20px", path
        expect(page.get_by_test_id("text-size")).to_have_attribute("aria-pressed", "true")
    assert any(c["name"] == "text_size" and c["value"] == "large" for c in page.context.cookies())

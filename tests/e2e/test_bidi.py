"""Mixed Arabic and Latin text reads in the right order on screen, in both languages.

The browser lays the text out; each character's position comes from Range.getClientRects,
and the characters of a left-to-right run ("Acme Inc.", "US$", "-500.00", a phone number)
must stand left to right, those of an Arabic name right to left, wherever the page puts them:
the contact page, the board and My day.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone, translation

from core import formatting
from tests import factories as f
from tests.e2e.conftest import screenshot
from tests.e2e.test_shell import sign_in

# For every occurrence of `needle` in the page's text: the left edge of each of its characters, in logical order.
POSITIONS = """(needle) => {
  const found = [];
  const walker = document.createTreeWalker(document.querySelector("main") || document.body, NodeFilter.SHOW_TEXT);
  const nodes = [];
  let text = "";
  while (walker.nextNode()) {
    // Only what a sighted reader sees: not the screen-reader-only labels, not the options of a closed select.
    if (walker.currentNode.parentElement.closest(".visually-hidden, [hidden], select, script, template")) continue;
    nodes.push([walker.currentNode, text.length]);
    text += walker.currentNode.data;
  }
  const locate = (offset) => {
    for (let i = nodes.length - 1; i >= 0; i--) if (nodes[i][1] <= offset) return [nodes[i][0], offset - nodes[i][1]];
  };
  let at = text.indexOf(needle);
  while (at !== -1) {
    const xs = [];
    for (let i = 0; i < needle.length; i++) {
      const ch = needle[i];
      if (ch === " " || ch === "\\u00a0" || ch === "\\u202f") continue;
      const [node, offset] = locate(at + i);
      const range = document.createRange();
      range.setStart(node, offset);
      range.setEnd(node, offset + 1);
      const rect = range.getClientRects()[0];
      if (rect && rect.width > 0) xs.push({ ch, left: rect.left, right: rect.right, top: rect.top });
    }
    if (xs.length) found.push(xs);
    at = text.indexOf(needle, at + 1);
  }
  return found;
}"""


def occurrences(page, needle: str) -> list[list[dict]]:
    found = page.evaluate(POSITIONS, needle)
    assert found, f"{needle!r} is not on {page.url}"
    return found


def assert_reads_left_to_right(page, needle: str) -> None:
    """Within each line the characters stand left to right; a wrapped run continues on the next line down."""
    for xs in occurrences(page, needle):
        tops = [round(x["top"]) for x in xs]
        assert tops == sorted(tops), f"{needle!r} continues on an earlier line on {page.url}"
        for line in sorted(set(tops)):
            lefts = [x["left"] for x, top in zip(xs, tops, strict=True) if top == line]
            order = [x["ch"] for x in sorted(xs, key=lambda x: (round(x["top"]), x["left"]))]
            assert lefts == sorted(lefts), f"{needle!r} is out of order on {page.url}: {order}"


def assert_reads_right_to_left(page, needle: str) -> None:
    for xs in occurrences(page, needle):
        rights = [x["right"] for x in xs]
        assert rights == sorted(rights, reverse=True), f"{needle!r} is out of order on {page.url}"


@pytest.fixture
def mixed(world):
    rep = world.rep_a1
    acme = f.CompanyFactory(name="Acme Inc.", owner=rep, team=world.team_a)
    ufuq = f.CompanyFactory(name="شركة الأفق", owner=rep, team=world.team_a)
    contact = f.ContactFactory(
        first_name="مُنى",
        last_name="الحربي",
        owner=rep,
        team=world.team_a,
        company=acme,
        phone_raw="050 123 4567",
        phone="+966501234567",
    )
    deal = f.DealFactory(
        title="Acme Inc.",
        owner=rep,
        team=world.team_a,
        company=acme,
        contact=contact,
        stage=world.pipeline.s.lead,
        amount=Decimal("1250.50"),
        currency="USD",
        expected_close=timezone.localdate() + timedelta(days=2),
    )
    f.DealFactory(title="ترخيص الأفق", owner=rep, team=world.team_a, company=ufuq, stage=world.pipeline.s.lead)
    f.FollowUpFactory(
        assignee=rep,
        team=world.team_a,
        contact=contact,
        company=acme,
        deal=deal,
        subject="Call Acme Inc.",
        due_at=timezone.now() - timedelta(hours=1),
    )
    return world, contact, deal


@pytest.mark.parametrize("language", ["ar", "en"])
def test_mixed_direction_text_reads_in_order_on_contact_board_and_my_day(page, mixed, language):
    world, contact, _deal = mixed
    rep = world.rep_a1
    rep.language = language
    rep.save(update_fields=["language"])
    sign_in(page, rep.username)

    page.goto(contact.get_absolute_url())
    assert_reads_left_to_right(page, "Acme Inc.")
    assert_reads_left_to_right(page, "+966 50 123 4567")
    assert_reads_right_to_left(page, "الحربي")
    screenshot(page, f"bidi-contact-{language}")

    page.goto("/board/")
    assert_reads_left_to_right(page, "Acme Inc.")
    assert_reads_left_to_right(page, "1,250.50")
    assert_reads_right_to_left(page, "شركة الأفق")
    if language == "ar":
        assert_reads_left_to_right(page, "US$")
    screenshot(page, f"bidi-board-{language}")

    page.goto("/")
    assert_reads_left_to_right(page, "Call Acme Inc.")
    assert_reads_left_to_right(page, "Acme Inc.")
    if language == "ar":
        assert_reads_left_to_right(page, "US$")

    page.goto(f"/contacts/{contact.pk}/edit/")
    assert_reads_left_to_right(page, "050 123 4567")


@pytest.mark.parametrize("language", ["ar", "en"])
def test_a_negative_amount_keeps_its_sign_on_the_left_in_a_sentence(page, db, language):
    # Deal amounts are never negative, so the formatter's text is laid out in a page of the
    # product's direction: the browser, not Python, decides the visual order.
    with translation.override(language):
        amount = formatting.money(Decimal("-500"), "USD")
        sentence = "الفرق" if language == "ar" else "Difference"
    direction = "rtl" if language == "ar" else "ltr"
    page.set_content(
        f'<html lang="{language}" dir="{direction}"><body><main><p>{sentence}: {amount}</p></main></body></html>'
    )
    assert_reads_left_to_right(page, "-500.00")
    if language == "ar":
        assert_reads_left_to_right(page, "US$")
        # The amount comes before the symbol in Arabic reading order (right to left): symbol left of the number.
        [symbol] = occurrences(page, "US$")
        [number] = occurrences(page, "-500.00")
        assert symbol[-1]["right"] <= number[0]["left"]

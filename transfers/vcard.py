"""vCard (RFC 6350 for 4.0, RFC 2426 for 3.0): a small writer and reader for contacts.

Written here rather than pulled from a library: only FN/N/ORG/TEL/EMAIL/NOTE are needed,
and the folding rule (75 octets, never inside a UTF-8 sequence) is easy to get wrong silently.
"""

import quopri

CRLF = "\r\n"


def escape(value: str) -> str:
    return (
        value.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;").replace("\r\n", "\\n").replace("\n", "\\n")
    )


def unescape(value: str) -> str:
    out, i = [], 0
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value):
            nxt = value[i + 1]
            out.append("\n" if nxt in "nN" else nxt)
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def fold(line: str) -> str:
    """Fold a content line at 75 octets; continuation lines start with one space."""
    parts, current, size, limit = [], [], 0, 75
    for ch in line:
        width = len(ch.encode("utf-8"))
        if size + width > limit:
            parts.append("".join(current))
            current, size, limit = [], 0, 74  # the leading space counts toward the next line's 75
        current.append(ch)
        size += width
    parts.append("".join(current))
    return (CRLF + " ").join(parts)


def write_vcard(contact) -> str:
    """One contact as a vCard 4.0."""
    lines = ["BEGIN:VCARD", "VERSION:4.0", "FN:" + escape(contact.full_name)]
    lines.append("N:" + ";".join([escape(contact.last_name), escape(contact.first_name), "", "", ""]))
    if contact.company_id:
        lines.append("ORG:" + escape(contact.company.name))
    if contact.job_title:
        lines.append("TITLE:" + escape(contact.job_title))
    if contact.phone or contact.phone_raw:
        lines.append('TEL;VALUE=uri;TYPE="voice,cell":tel:' + (contact.phone or contact.phone_raw))
    if contact.email:
        lines.append("EMAIL;TYPE=work:" + escape(contact.email))
    if contact.notes:
        lines.append("NOTE:" + escape(contact.notes))
    lines.append("END:VCARD")
    return "".join(fold(line) + CRLF for line in lines)


def _unfold(text: str) -> list[str]:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines: list[str] = []
    for raw in text.split("\n"):
        if raw[:1] in (" ", "\t") and lines:
            lines[-1] += raw[1:]
        elif raw.strip():
            lines.append(raw)
    # vCard 3.0 quoted-printable soft line breaks end a line with "=".
    joined: list[str] = []
    for line in lines:
        if joined and joined[-1].endswith("=") and "QUOTED-PRINTABLE" in joined[-1].upper().split(":", 1)[0]:
            joined[-1] = joined[-1][:-1] + line
        else:
            joined.append(line)
    return joined


def _split_line(line: str) -> tuple[str, dict, str]:
    # The value starts after the first colon outside quotes.
    in_quotes = False
    for index, ch in enumerate(line):
        if ch == '"':
            in_quotes = not in_quotes
        elif ch == ":" and not in_quotes:
            head, value = line[:index], line[index + 1 :]
            break
    else:
        return "", {}, ""
    pieces = head.split(";")
    name = pieces[0].split(".")[-1].upper()  # drop a group prefix ("item1.TEL")
    params: dict[str, str] = {}
    for piece in pieces[1:]:
        key, _sep, val = piece.partition("=")
        if not _sep:  # vCard 2.1/3.0 bare type ("TEL;CELL")
            params.setdefault("TYPE", "")
            params["TYPE"] += ("," if params["TYPE"] else "") + key
        else:
            params[key.upper()] = val.strip('"')
    if params.get("ENCODING", "").upper() in ("QUOTED-PRINTABLE", "QP"):
        charset = params.get("CHARSET", "utf-8")
        try:
            value = quopri.decodestring(value.encode("ascii", "replace")).decode(charset, "replace")
        except LookupError:
            value = quopri.decodestring(value.encode("ascii", "replace")).decode("utf-8", "replace")
    return name, params, value


def _components(value: str) -> list[str]:
    parts, current, i = [], [], 0
    while i < len(value):
        if value[i] == "\\" and i + 1 < len(value):
            current.append(value[i : i + 2])
            i += 2
            continue
        if value[i] == ";":
            parts.append(unescape("".join(current)))
            current = []
        else:
            current.append(value[i])
        i += 1
    parts.append(unescape("".join(current)))
    return parts


def parse_vcards(text: str) -> list[dict]:
    """Every vCard in `text` as a dict: first_name, last_name, full_name, company, job_title, phone, email, notes."""
    cards, card = [], None
    for line in _unfold(text):
        name, _params, value = _split_line(line)
        if name == "BEGIN" and value.upper() == "VCARD":
            card = {}
        elif name == "END" and card is not None:
            cards.append(card)
            card = None
        elif card is None:
            continue
        elif name == "FN":
            card["full_name"] = unescape(value)
        elif name == "N":
            parts = _components(value) + [""] * 2
            card["last_name"], card["first_name"] = parts[0], parts[1]
        elif name == "ORG":
            card["company"] = _components(value)[0]
        elif name == "TITLE":
            card["job_title"] = unescape(value)
        elif name == "TEL" and "phone" not in card:
            card["phone"] = value[4:] if value.lower().startswith("tel:") else unescape(value)
        elif name == "EMAIL" and "email" not in card:
            card["email"] = unescape(value)
        elif name == "NOTE":
            card["notes"] = unescape(value)
    return cards


VCARD_COLUMNS = ["first_name", "last_name", "full_name", "company", "job_title", "phone", "email", "notes"]


def vcards_to_table(cards: list[dict]) -> list[list[str]]:
    """The cards as rows under the import field names, so they go through the same preview as a CSV."""
    rows = [list(VCARD_COLUMNS)]
    for card in cards:
        if not card.get("first_name") and not card.get("last_name"):
            card["first_name"] = card.get("full_name", "")
        rows.append([card.get(column, "") for column in VCARD_COLUMNS])
    return rows

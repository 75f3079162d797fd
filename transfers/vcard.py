"""vCard (RFC 6350 for 4.0, RFC 2426 for 3.0): a small writer and reader for contacts.

Written here rather than pulled from a library: only FN/N/ORG/TEL/EMAIL/NOTE are needed,
and the folding rule (75 octets, never inside a UTF-8 sequence) is easy to get wrong silently.
"""

import codecs
import io
import quopri
import re

from django.utils.translation import gettext as _

CRLF = "\r\n"
_CONTROLS = re.compile(r"[\x00-\x1f\x7f]")


def escape(value: str) -> str:
    # A bare CR ends a line for many readers (and for our own _unfold): left raw, a name holding one
    # could start a property of its own ("FN:x" CR "TEL:..."), so it is escaped like LF.
    return (
        value.replace("\\", "\\\\")
        .replace(",", "\\,")
        .replace(";", "\\;")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def _uri(value: str) -> str:
    """A URI value (tel:) is not backslash-escaped: line breaks and other controls are removed instead."""
    return _CONTROLS.sub("", value)


_ESCAPE = re.compile(r"\\(.)", re.S)


def unescape(value: str) -> str:
    # By regular expression, not character by character: a value can be 100,000 characters long.
    if "\\" not in value:
        return value
    return _ESCAPE.sub(lambda match: "\n" if match.group(1) in "nN" else match.group(1), value)


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
        lines.append('TEL;VALUE=uri;TYPE="voice,cell":tel:' + _uri(contact.phone or contact.phone_raw))
    if contact.email:
        lines.append("EMAIL;TYPE=work:" + escape(contact.email))
    if contact.notes:
        lines.append("NOTE:" + escape(contact.notes))
    lines.append("END:VCARD")
    return "".join(fold(line) + CRLF for line in lines)


def _unfold(text: str, max_line: int):
    """The logical lines of `text`, one at a time, in time linear in its length.

    The pieces of a line are gathered in a list and joined once: growing a string piece by
    piece copies it every time, and a file of many continuation lines (or quoted-printable
    soft breaks) would take quadratic time. A logical line longer than `max_line` characters
    is refused as soon as it is.
    """
    return _join_soft_breaks(_join_folds(text, max_line), max_line)


def _line_too_long(max_line: int):
    from transfers.readers import FileProblem

    return FileProblem(
        _("A line of this file is longer than %(limit)s characters. Shorten it and try again.") % {"limit": max_line}
    )


def _join_folds(text: str, max_line: int):
    """RFC 6350 folding: a line starting with a space or tab continues the one before."""
    pieces: list[str] = []
    size = 0
    # Line by line from a stream (universal newlines): a list of every line would be as large as the file again.
    for raw in io.StringIO(text, newline=None):
        raw = raw.rstrip("\n")
        if raw[:1] in (" ", "\t") and pieces:
            pieces.append(raw[1:])
            size += len(raw)
            if size > max_line:
                raise _line_too_long(max_line)
        elif raw.strip():
            if pieces:
                yield "".join(pieces)
            pieces, size = [raw], len(raw)
            if size > max_line:
                raise _line_too_long(max_line)
    if pieces:
        yield "".join(pieces)


def _join_soft_breaks(lines, max_line: int):
    """vCard 3.0 quoted-printable soft line breaks: a QP line ending with "=" goes on in the next one."""
    pieces: list[str] = []
    size = 0
    quoted_printable = False
    for line in lines:
        if pieces and quoted_printable and pieces[-1].endswith("="):
            pieces[-1] = pieces[-1][:-1]
            pieces.append(line)
            size += len(line)
            if size > max_line:
                raise _line_too_long(max_line)
            continue
        if pieces:
            yield "".join(pieces)
        pieces, size = [line], len(line)
        quoted_printable = "QUOTED-PRINTABLE" in line.split(":", 1)[0].upper()
    if pieces:
        yield "".join(pieces)


# The character sets a quoted-printable value may name, as codecs.lookup() spells them: text
# encodings only. Others Python knows (idna, punycode, "undefined", the escape codecs...) are
# not character sets, raise on ordinary bytes, or cost far more than the value's length.
_CHARSETS = re.compile(r"utf-8|utf-16(-le|-be)?|ascii|iso8859-\d{1,2}|cp12\d\d|cp720|cp864|mac-arabic")


def _charset(name: str) -> str:
    from transfers.readers import FileProblem

    try:
        codec = codecs.lookup(name).name
    except (LookupError, ValueError):
        codec = ""
    if not _CHARSETS.fullmatch(codec):
        raise FileProblem(
            _(
                "A contact in this file says its text is in the character set “%(charset)s”, which cannot be read. "
                "Export the contacts again as vCard in UTF-8 and retry."
            )
            % {"charset": name[:40]}
        )
    return codec


# A property's name and parameters up to the colon that ends them (a quoted parameter may hold colons).
_HEAD = re.compile(r'(?:"[^"]*"|[^":])*:')


def _split_line(line: str) -> tuple[str, dict, str]:
    # The value starts after the first colon outside quotes (a quote is rare: then it is looked for).
    colon = line.find(":")
    if colon < 0:
        return "", {}, ""
    if '"' in line[:colon]:
        match = _HEAD.match(line)
        if match is None:
            return "", {}, ""
        colon = match.end() - 1
    head, value = line[:colon], line[colon + 1 :]
    pieces = head.split(";")
    name = pieces[0].split(".")[-1].upper()  # drop a group prefix ("item1.TEL")
    params: dict[str, str] = {}
    types: list[str] = []
    for piece in pieces[1:]:
        key, _sep, val = piece.partition("=")
        if not _sep:  # vCard 2.1/3.0 bare type ("TEL;CELL")
            types.append(key)
        else:
            params[key.upper()] = val.strip('"')
    if types:
        params["TYPE"] = ",".join(([params["TYPE"]] if params.get("TYPE") else []) + types)
    if params.get("ENCODING", "").upper() in ("QUOTED-PRINTABLE", "QP"):
        charset = _charset(params.get("CHARSET", "utf-8"))
        value = quopri.decodestring(value.encode("ascii", "replace")).decode(charset, "replace")
    return name, params, value


# The pieces of a structured value (N, ORG): runs without a backslash or a semicolon, escapes, separators.
_COMPONENT_TOKENS = re.compile(r"[^\\;]+|\\.|;|\\", re.S)


def _components(value: str) -> list[str]:
    if "\\" not in value:
        return value.split(";")
    parts, current = [], []
    for token in _COMPONENT_TOKENS.findall(value):
        if token == ";":
            parts.append(unescape("".join(current)))
            current = []
        else:
            current.append(token)
    parts.append(unescape("".join(current)))
    return parts


def parse_vcards(text: str) -> list[dict]:
    """Every vCard in `text` as a dict: first_name, last_name, full_name, company, job_title, phone, email, notes."""
    return list(iter_vcards(text))


def iter_vcards(text: str, max_line: int | None = None):
    """The vCards of `text` one at a time, so a reader can stop at its row limit."""
    from django.conf import settings

    card = None
    for line in _unfold(text, max_line or settings.IMPORT_MAX_LINE_CHARS):
        name, _params, value = _split_line(line)
        if name == "BEGIN" and value.upper() == "VCARD":
            card = {}
        elif name == "END" and card is not None:
            yield card
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


VCARD_COLUMNS = ["first_name", "last_name", "full_name", "company", "job_title", "phone", "email", "notes"]


def vcards_to_table(cards):
    """The cards as rows under the import field names (header first), so they go through the same preview as a CSV."""
    yield list(VCARD_COLUMNS)
    for card in cards:
        if not card.get("first_name") and not card.get("last_name"):
            card["first_name"] = card.get("full_name", "")
        yield [card.get(column, "") for column in VCARD_COLUMNS]

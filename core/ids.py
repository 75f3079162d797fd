"""Record ids read from outside: request bodies, query strings and forms."""

# Ids are PostgreSQL bigints.
ID_MIN, ID_MAX = -(2**63), 2**63 - 1


def parse_id(value) -> int | None:
    """`value` as a record id: an integer, or a string of ASCII digits, within bigint range; else None.

    Anything else is refused rather than coerced: DRF would hand a float to the database
    lookup (1.5 silently becomes record 1; 1e400, an infinity, raised OverflowError, a 500),
    and Python's int() also reads "١", " 1" and "1_0", while str.isdigit() accepts "²",
    which int() then refuses.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.isascii() and value.lstrip("-").isdigit() and len(value) <= 20:
        value = int(value)
    if isinstance(value, int) and ID_MIN <= value <= ID_MAX:
        return value
    return None

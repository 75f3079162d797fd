"""Records of other apps that belong to a company or contact, registered in their AppConfig.ready().

Apps above crm (pipeline: deals) depend on it, never the reverse: what a write to companies
and contacts must know of their records is told here, by `register_dependent` in the other
app's ready(). The crm services then

- refuse to move a company to another team while such records are in its team,
- refuse to delete a company such records refer to (with the message the app gives),
- after deleting a contact, give the records that lost it a new version and change number
  (core/sync.py) and announce them (`updated_event`, a webhook event).
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Dependent:
    """A synced model with `company` and `contact` foreign keys (the contact's set to null on its deletion)."""

    model: type
    updated_event: str
    company_delete_refusal: str


_dependents: list[Dependent] = []


def register_dependent(model, *, updated_event: str, company_delete_refusal) -> None:
    """Tell crm of `model`'s records that belong to companies and contacts (idempotent)."""
    if any(dependent.model is model for dependent in _dependents):
        return
    _dependents.append(Dependent(model, updated_event, company_delete_refusal))


def dependents() -> tuple[Dependent, ...]:
    return tuple(_dependents)

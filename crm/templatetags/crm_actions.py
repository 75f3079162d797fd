"""Call / WhatsApp / Email actions with their "log it" prompt, wherever a customer is shown."""

from django import template

from crm.channels import company_channels, contact_channels
from crm.models import Company, Contact

register = template.Library()


@register.inclusion_tag("crm/partials/contact_actions.html", takes_context=True)
def customer_actions(context, customer, deal=None, compact=False, follow_up=None):
    """The channels of a contact (or a company's switchboard) and the one-tap prompt that logs a tap.

    `deal` (optional) is also put on the logged activity; `follow_up` (the My day item the rep
    came from) is finished by the same tap; `compact` draws the small buttons of list cards.
    """
    if isinstance(customer, Contact):
        channels, kind = contact_channels(customer), "contact"
    elif isinstance(customer, Company):
        channels, kind = company_channels(customer), "company"
    else:
        channels, kind = [], ""
    # A page may show the same customer twice (a list and a panel): each prompt gets its own id.
    count = context.render_context["crm_actions_count"] = context.render_context.get("crm_actions_count", 0) + 1
    return {
        "channels": channels,
        "customer": customer,
        "subject_type": kind,
        "deal": deal,
        "follow_up": follow_up,
        "compact": compact,
        "csrf_token": context.get("csrf_token"),
        "uid": f"{kind}-{customer.pk if customer else 0}-{count}",
    }

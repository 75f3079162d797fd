"""The surveys panel of a contact's or a deal's page: `{% surveys_panel contact=contact %}` / `deal=deal`."""

from django import template

from surveys import selectors, services

register = template.Library()


@register.inclusion_tag("surveys/partials/panel.html", takes_context=True)
def surveys_panel(context, contact=None, deal=None, section_class="crm-section"):
    user = context["request"].user
    surveys = selectors.surveys_for(user=user, contact=contact, deal=deal)
    for survey in surveys:
        # A WhatsApp survey not answered yet: the rep's ready-to-send message.
        survey.whatsapp_href = "" if survey.is_answered or survey.is_expired() else services.whatsapp_link(survey)
    subject_contact = contact if contact is not None else getattr(deal, "contact", None)
    return {
        "request": context["request"],
        "surveys": surveys,
        "contact": subject_contact,
        "deal": deal,
        "section_class": section_class,
    }

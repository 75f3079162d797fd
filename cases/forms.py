"""Forms of the case pages: open or edit a case, change its status, solve it (optionally with a survey)."""

from django import forms
from django.apps import apps
from django.db.models import Q
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.selectors import assignable_owners
from cases.models import Case, CasePriority, CaseStatus
from core.forms import ComboboxSelect, SubmitOnceMixin
from crm.models import Contact
from pipeline.forms import ContactChoiceField
from pipeline.models import Deal


class CaseForm(SubmitOnceMixin, forms.Form):
    """Open or edit a case. Edits carry the version read, so a stale form is refused."""

    subject = forms.CharField(label=capfirst(_("subject")), max_length=200)
    contact = ContactChoiceField(
        label=capfirst(_("contact")),
        queryset=Contact.objects.none(),
        widget=ComboboxSelect("crm:contact_options"),
    )
    deal = forms.ModelChoiceField(
        label=capfirst(_("deal")), queryset=Deal.objects.none(), required=False, empty_label=_("No deal")
    )
    priority = forms.ChoiceField(label=capfirst(_("priority")), choices=CasePriority.choices, initial="normal")
    description = forms.CharField(
        label=capfirst(_("description")), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    owner = forms.ModelChoiceField(
        label=capfirst(_("owner")),
        queryset=User.objects.none(),
        empty_label=None,
        widget=ComboboxSelect("crm:people_options", params={"for": "owner"}),
    )
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    service_fields = ("subject", "contact", "deal", "priority", "description", "owner")

    def __init__(self, *args, user, instance: Case | None = None, **kwargs):
        self.user, self.instance = user, instance
        if instance is not None:
            kwargs.setdefault(
                "initial",
                {
                    "subject": instance.subject,
                    "contact": instance.contact_id,
                    "deal": instance.deal_id,
                    "priority": instance.priority,
                    "description": instance.description,
                    "owner": instance.owner_id,
                    "version": instance.version,
                },
            )
        super().__init__(*args, **kwargs)
        self.fields["contact"].queryset = Contact.objects.visible_to(user).select_related("company")
        deals = Deal.objects.visible_to(user)
        contact_id = self.initial.get("contact") or (self.data.get("contact") if self.is_bound else None)
        if contact_id and str(contact_id).isdigit():
            # The deals of the case's customer: a short list, not every deal the user sees.
            contact = Contact.objects.filter(pk=int(contact_id)).only("pk", "company_id").first()
            if contact is not None:
                customer = Q(contact_id=contact.pk)
                if contact.company_id:
                    customer |= Q(company_id=contact.company_id)
                deals = deals.filter(customer)
        self.fields["deal"].queryset = deals.order_by("-updated_at", "-pk")
        owners = assignable_owners(user=user)
        if instance is not None:
            owners = User.objects.filter(Q(pk__in=owners.values("pk")) | Q(pk=instance.owner_id))
        self.fields["owner"].queryset = owners
        self.fields["owner"].initial = self.initial.get("owner", user.pk)
        if instance is None:
            del self.fields["version"]

    def service_kwargs(self) -> dict:
        data = {name: self.cleaned_data[name] for name in self.service_fields}
        if self.instance is not None and data["contact"].pk == self.instance.contact_id:
            data.pop("contact")
        return data


def survey_templates_for(user):
    """Active survey templates `user` may send, or none when the surveys app is not installed."""
    if not apps.is_installed("surveys"):
        return None
    model = apps.get_model("surveys", "SurveyTemplate")
    return model.objects.visible_to(user).filter(is_active=True)


class CaseStatusForm(forms.Form):
    """Move a case to another status; solving it may send the customer a satisfaction survey."""

    status = forms.ChoiceField(label=_("New status"), choices=CaseStatus.choices)
    survey_template = forms.ModelChoiceField(
        label=_("Ask the customer how it went"),
        queryset=None,
        required=False,
        empty_label=_("Send no survey"),
        help_text=_("Only when the case is solved: the customer gets this survey by their preferred channel."),
    )
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def __init__(self, *args, user, case: Case, **kwargs):
        kwargs.setdefault("initial", {"version": case.version, "status": case.status})
        super().__init__(*args, **kwargs)
        templates = survey_templates_for(user)
        if templates is None:
            del self.fields["survey_template"]
        else:
            self.fields["survey_template"].queryset = templates

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("survey_template") is not None and cleaned.get("status") != CaseStatus.SOLVED:
            self.add_error("survey_template", _("A survey is sent only when the case is solved."))
        return cleaned

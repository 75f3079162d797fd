"""Forms for deals: they parse and check what a member typed; the services in pipeline/services.py write it.

Choices are always built from the signed-in member, so a form never offers
(or accepts) a company, contact, owner or stage they may not use.
"""

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.selectors import assignable_owners
from core.forms import ComboboxSelect, LocalizedDecimalField, SubmitOnceMixin
from core.money import (
    AMOUNT_DECIMAL_PLACES,
    AMOUNT_MAX_DIGITS,
    COMMON_CURRENCIES,
    currency_choices,
    validate_amount,
    validate_currency,
)
from crm.models import Company, Contact
from pipeline.models import Deal, DealSource, LossReason, Pipeline, Stage, StageKind

AMOUNT_INVALID = _("Enter an amount as a number, for example 15000.50.")


class AmountField(LocalizedDecimalField):
    """A money amount as typed on an Arabic or English keyboard: "15,000.50", "١٥٠٠٠٫٥٠" (core.formatting's parser)."""

    default_error_messages = {"invalid": AMOUNT_INVALID}

    def __init__(self, **kwargs):
        kwargs.setdefault("max_digits", AMOUNT_MAX_DIGITS)
        kwargs.setdefault("decimal_places", AMOUNT_DECIMAL_PLACES)
        kwargs.setdefault("validators", [validate_amount])
        super().__init__(**kwargs)


class CurrencyField(forms.CharField):
    """An ISO 4217 code chosen from a list; anything else gets the money module's message."""

    def __init__(self, **kwargs):
        kwargs.setdefault("validators", [validate_currency])
        kwargs.setdefault("widget", forms.Select)
        super().__init__(**kwargs)

    def to_python(self, value):
        return super().to_python(value).upper()


class StageChoiceField(forms.ModelChoiceField):
    def __init__(self, *args, with_pipeline: bool = False, **kwargs):
        self.with_pipeline = with_pipeline
        super().__init__(*args, **kwargs)

    def label_from_instance(self, obj):
        if self.with_pipeline:
            return f"{obj.pipeline} · {obj}"
        return str(obj)


class ContactChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj} · {obj.company}" if obj.company_id else str(obj)


def _set_currency_choices(field, default: str | None = None, choices=None) -> None:
    field.widget.choices = choices if choices is not None else currency_choices()
    field.initial = default or settings.DEFAULT_CURRENCY


class DealForm(SubmitOnceMixin, forms.Form):
    """Create or edit a deal. Pipeline and stage are asked on creation only; edits carry the version read."""

    title = forms.CharField(label=capfirst(_("title")), max_length=200)
    company = forms.ModelChoiceField(
        label=capfirst(_("company")),
        queryset=Company.objects.none(),
        required=False,
        empty_label=_("No company"),
        widget=ComboboxSelect("crm:company_options", create="crm:company_quick_create"),
    )
    contact = ContactChoiceField(
        label=capfirst(_("contact")),
        queryset=Contact.objects.none(),
        required=False,
        empty_label=_("No contact"),
        widget=ComboboxSelect("crm:contact_options"),
    )
    pipeline = forms.ModelChoiceField(label=capfirst(_("pipeline")), queryset=Pipeline.objects.none(), empty_label=None)
    stage = StageChoiceField(
        label=capfirst(_("stage")),
        queryset=Stage.objects.none(),
        required=False,
        with_pipeline=True,
        empty_label=_("The pipeline's first stage"),
    )
    amount = AmountField(label=capfirst(_("value")))
    currency = CurrencyField(label=capfirst(_("currency")))
    expected_close = forms.DateField(
        label=capfirst(_("expected close")),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    source = forms.ChoiceField(
        label=capfirst(_("source")), choices=[("", _("Not stated")), *DealSource.choices], required=False
    )
    owner = forms.ModelChoiceField(
        label=capfirst(_("owner")),
        queryset=User.objects.none(),
        empty_label=None,
        widget=ComboboxSelect("crm:people_options", params={"for": "owner"}),
    )
    competitor = forms.CharField(label=capfirst(_("competitor")), max_length=120, required=False)
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    # Fields whose values go to deal_create / deal_update as they are.
    service_fields = (
        "title",
        "company",
        "contact",
        "amount",
        "currency",
        "expected_close",
        "source",
        "owner",
        "competitor",
    )

    def __init__(self, *args, user, instance: Deal | None = None, **kwargs):
        self.user = user
        self.instance = instance
        if instance is not None:
            kwargs.setdefault(
                "initial",
                {
                    "title": instance.title,
                    "company": instance.company_id,
                    "contact": instance.contact_id,
                    "amount": instance.amount,
                    "currency": instance.currency,
                    "expected_close": instance.expected_close,
                    "source": instance.source,
                    "owner": instance.owner_id,
                    "competitor": instance.competitor,
                    "version": instance.version,
                },
            )
        super().__init__(*args, **kwargs)
        self.fields["company"].queryset = Company.objects.visible_to(user)
        self.fields["contact"].queryset = Contact.objects.visible_to(user).select_related("company")
        owners = assignable_owners(user=user)
        if instance is not None:
            # The current owner stays selectable (a manager may keep a deal with someone who left the team).
            owners = User.objects.filter(Q(pk__in=owners.values("pk")) | Q(pk=instance.owner_id))
        self.fields["owner"].queryset = owners
        self.fields["owner"].initial = self.initial.get("owner", user.pk)
        _set_currency_choices(self.fields["currency"], self.initial.get("currency"))
        if instance is None:
            del self.fields["version"]
            pipelines = Pipeline.objects.visible_to(user).filter(is_active=True)
            self.fields["pipeline"].queryset = pipelines
            self.fields["stage"].queryset = (
                Stage.objects.filter(pipeline__in=pipelines, kind=StageKind.OPEN)
                .select_related("pipeline")
                .order_by("pipeline__order", "pipeline_id", "order", "pk")
            )
        else:
            del self.fields["pipeline"]
            del self.fields["stage"]

    def clean(self):
        cleaned = super().clean()
        pipeline, stage = cleaned.get("pipeline"), cleaned.get("stage")
        if stage is not None and pipeline is not None and stage.pipeline_id != pipeline.pk:
            self.add_error("stage", _("The stage belongs to another pipeline."))
        contact, company = cleaned.get("contact"), cleaned.get("company")
        if contact is not None and company is None and contact.company_id:
            # Choosing a contact is enough to say which company the deal is with.
            cleaned["company"] = contact.company
        return cleaned

    def service_kwargs(self) -> dict:
        data = {name: self.cleaned_data[name] for name in self.service_fields}
        if self.instance is None:
            data["pipeline"] = self.cleaned_data["pipeline"]
            data["stage"] = self.cleaned_data.get("stage")
        return data


class QuickAddForm(SubmitOnceMixin, forms.Form):
    """The few fields typed straight into a board column: title, value, currency and, optionally, the company.

    Company choices may be passed in, so the board renders one list for all its columns in a single query.
    """

    title = forms.CharField(label=capfirst(_("title")), max_length=200)
    amount = AmountField(label=capfirst(_("value")))
    currency = CurrencyField(label=capfirst(_("currency")))
    company = forms.TypedChoiceField(
        label=capfirst(_("company")),
        required=False,
        coerce=int,
        empty_value=None,
        # The board lists the most recent companies; the combobox finds any other one the member may see.
        widget=ComboboxSelect("crm:company_options"),
    )

    def __init__(self, *args, user, company_choices=None, currencies=None, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)
        if company_choices is None:
            company_choices = company_choices_for(user)
        self.fields["company"].choices = [("", _("No company")), *company_choices]
        _set_currency_choices(self.fields["currency"], choices=currencies or quick_currency_choices())

    def clean_company(self):
        pk = self.cleaned_data["company"]
        if pk is None:
            return None
        company = Company.objects.visible_to(self.user).filter(pk=pk).first()
        if company is None:
            raise ValidationError(
                self.fields["company"].error_messages["invalid_choice"], code="invalid_choice", params={"value": pk}
            )
        return company


def quick_currency_choices() -> list[tuple[str, str]]:
    """The common currencies only: a board column's form stays small, and the full form offers every code."""
    wanted = {*COMMON_CURRENCIES, settings.DEFAULT_CURRENCY}
    return [choice for choice in currency_choices() if choice[0] in wanted]


def company_choices_for(user) -> list[tuple[int, str]]:
    return list(Company.objects.visible_to(user).order_by("name", "pk").values_list("pk", "name"))


class LostForm(forms.Form):
    """Why a deal was lost (required), to whom (optional), and a note."""

    loss_reason = forms.ModelChoiceField(
        label=capfirst(_("loss reason")),
        queryset=LossReason.objects.none(),
        empty_label=_("— choose —"),
        error_messages={"required": _("Choose why the deal was lost.")},
    )
    competitor = forms.CharField(label=capfirst(_("competitor")), max_length=120, required=False)
    note = forms.CharField(label=capfirst(_("loss note")), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    stage = forms.ModelChoiceField(queryset=Stage.objects.none(), required=False, widget=forms.HiddenInput)
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1, required=False)

    def __init__(self, *args, deal: Deal, **kwargs):
        kwargs.setdefault("initial", {"competitor": deal.competitor, "version": deal.version})
        super().__init__(*args, **kwargs)
        self.fields["loss_reason"].queryset = LossReason.objects.filter(is_active=True)
        self.fields["stage"].queryset = Stage.objects.filter(pipeline_id=deal.pipeline_id, kind=StageKind.LOST)


class MoveForm(forms.Form):
    """A move to another stage of the deal's own pipeline, naming the version the mover saw."""

    stage = StageChoiceField(
        label=_("Move to stage"),
        queryset=Stage.objects.none(),
        empty_label=None,
        error_messages={"invalid_choice": _("Choose a stage of this deal's pipeline.")},
    )
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def __init__(self, *args, deal: Deal, **kwargs):
        kwargs.setdefault("initial", {"stage": deal.stage_id, "version": deal.version})
        super().__init__(*args, **kwargs)
        self.fields["stage"].queryset = Stage.objects.filter(pipeline_id=deal.pipeline_id).order_by("order", "pk")


def first_error(form) -> str:
    """The first message of a form, for answers that show one line (the board's live region)."""
    for errors in form.errors.values():
        if errors:
            return str(errors[0])
    return str(_("Please correct the errors below."))


class VersionForm(forms.Form):
    """The version of the deal the member saw, for one-click actions (mark won)."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

"""Create and edit forms for companies and contacts.

The forms validate what was typed and limit every choice to what the signed-in
user may pick; the services (crm.services) decide the rest and save.
"""

from datetime import timedelta

from django import forms
from django.db import models
from django.utils import timezone
from django.utils.text import capfirst, format_lazy
from django.utils.translation import gettext_lazy as _

from accounts.selectors import assignable_owners, follow_up_assignees
from core import formatting
from core.forms import ComboboxSelect, HijriDateField, SubmitOnceMixin
from crm.countries import country_choices
from crm.models import Activity, Company, Contact, FollowUp, Tag
from crm.selectors import companies_for_contact


def _formfield(field, **kwargs):
    # Reps type "example.com"; without a scheme it is read as https, not the legacy http.
    if isinstance(field, models.URLField):
        kwargs["assume_scheme"] = "https"
    return field.formfield(**kwargs)


class CustomerForm(SubmitOnceMixin, forms.ModelForm):
    """What companies and contacts share: an owner chosen among the people the user may assign, and tags."""

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        owner = self.fields["owner"]
        owner.queryset = assignable_owners(user=user, keep=self.instance.owner_id)
        owner.empty_label = None
        owner.widget = ComboboxSelect("crm:people_options", params={"for": "owner"}, attrs=owner.widget.attrs)
        owner.widget.choices = owner.choices
        if self.instance.pk is None and "owner" not in self.initial:
            self.initial["owner"] = user.pk
        self.fields["tags"].queryset = Tag.objects.visible_to(user)
        phone = self.fields["phone_raw"]
        phone.widget.attrs.update({"type": "tel", "autocomplete": "off", "dir": "ltr"})
        # The examples read left to right inside the Arabic sentence, their digit groups in order.
        phone.help_text = format_lazy(
            _("Any usual format, for example {local} or {international}."),
            local=formatting.ltr("050 123 4567"),
            international=formatting.ltr("+966 50 123 4567"),
        )

    def main_fields(self):
        """The fields shown one after another; tags and the grouped fields have their own fieldsets."""
        return [field for field in self if field.name not in self.grouped_fields]

    def service_fields(self) -> dict:
        """The cleaned values as keyword arguments for crm.services."""
        return dict(self.cleaned_data)


class CompanyForm(CustomerForm):
    grouped_fields = ("tags", "notes")

    class Meta:
        model = Company
        fields = ["name", "website", "industry", "city", "country", "phone_raw", "owner", "tags", "notes"]
        formfield_callback = _formfield
        widgets = {"tags": forms.CheckboxSelectMultiple, "notes": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        country = self.fields["country"]
        current = self.instance.country
        choices = [("", _("Not stated")), *country_choices()]
        # A code stored before this list existed (an import, the API) stays selectable.
        if current and current not in dict(choices):
            choices.append((current, current))
        self.fields["country"] = forms.ChoiceField(
            label=country.label, choices=choices, required=False, help_text=country.help_text
        )
        self.fields["website"].widget.attrs.update({"dir": "ltr"})


class ContactForm(CustomerForm):
    class Meta:
        model = Contact
        fields = [
            "first_name",
            "last_name",
            "job_title",
            "company",
            "email",
            "phone_raw",
            "owner",
            "tags",
            "preferred_channel",
            "preferred_language",
            "accessibility_needs",
            "needs_sign_language",
            "needs_large_print",
            "uses_screen_reader",
            "consent_phone",
            "consent_whatsapp",
            "consent_email",
            "consent_marketing",
            "consent_data_sharing",
            "notes",
        ]
        widgets = {
            "tags": forms.CheckboxSelectMultiple,
            "accessibility_needs": forms.Textarea(attrs={"rows": 3}),
            "notes": forms.Textarea(attrs={"rows": 4}),
        }

    # Fields shown in their own fieldsets on the page.
    preference_fields = ("preferred_channel", "preferred_language")
    accessibility_fields = ("accessibility_needs", "needs_sign_language", "needs_large_print", "uses_screen_reader")
    consent_fields = ("consent_phone", "consent_whatsapp", "consent_email", "consent_marketing", "consent_data_sharing")
    grouped_fields = ("tags", *preference_fields, *accessibility_fields, *consent_fields, "notes")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A contact stays in its team; a new one may join any company of the user's teams.
        team = self.instance.team if self.instance.pk else None
        company = self.fields["company"]
        company.queryset = companies_for_contact(user=self.user, team=team).order_by("name_normalized", "pk")
        company.empty_label = _("No company")
        # A new company can be made from the name typed here, without leaving the contact.
        company.widget = ComboboxSelect(
            "crm:company_options", params={"for": "contact"}, create="crm:company_quick_create"
        )
        company.widget.choices = company.choices
        self.fields["preferred_channel"].choices = [
            ("", _("Not stated")),
            *self.fields["preferred_channel"].choices[1:],
        ]
        self.fields["preferred_language"].choices = [
            ("", _("Not stated")),
            *self.fields["preferred_language"].choices[1:],
        ]
        self.fields["email"].widget.attrs.update({"autocomplete": "off", "dir": "ltr"})
        # The fieldset's legend already says "Accessibility needs".
        self.fields["accessibility_needs"].label = _("Details")

    def field_group(self, names):
        return [self[name] for name in names]

    def preference_group(self):
        return self.field_group(self.preference_fields)

    def accessibility_group(self):
        return self.field_group(self.accessibility_fields)

    def consent_group(self):
        return self.field_group(self.consent_fields)


# Activities and follow-ups -------------------------------------------------------

LOCAL_DATETIME = "%Y-%m-%dT%H:%M"


class LocalDateTimeInput(forms.DateTimeInput):
    """A native date-and-time picker; values are read and shown in the user's time zone."""

    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format=LOCAL_DATETIME)


class ActivityForm(SubmitOnceMixin, forms.ModelForm):
    prefix = "activity"  # two forms share the panel; prefixes keep their ids apart
    occurred_at = forms.DateTimeField(label=capfirst(_("when")), widget=LocalDateTimeInput(), initial=timezone.now)

    class Meta:
        model = Activity
        fields = ["kind", "occurred_at", "outcome", "body"]
        widgets = {"body": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A kind is always chosen: a call, the most common, unless another one is picked.
        kind = self.fields["kind"]
        kind.choices = [choice for choice in kind.choices if choice[0] != ""]
        if not self.is_bound and not self.initial.get("kind"):
            self.initial["kind"] = "call"
        outcome = self.fields["outcome"]
        outcome.choices = [("", _("Not stated")), *(choice for choice in outcome.choices if choice[0] != "")]

    def clean_occurred_at(self):
        value = self.cleaned_data["occurred_at"]
        # A few minutes of clock skew is fine; logging next week's meeting as done is not.
        if value > timezone.now() + timedelta(minutes=5):
            raise forms.ValidationError(
                _("An activity that is logged has already happened; schedule a follow-up instead.")
            )
        return value


class FollowUpForm(SubmitOnceMixin, forms.ModelForm):
    prefix = "follow_up"
    due_at = forms.DateTimeField(label=capfirst(_("due")), widget=LocalDateTimeInput())

    class Meta:
        model = FollowUp
        fields = ["subject", "due_at", "assignee", "notes"]
        widgets = {"notes": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        assignee = self.fields["assignee"]
        assignee.queryset = follow_up_assignees(user=user)
        assignee.empty_label = None
        assignee.widget = ComboboxSelect("crm:people_options", params={"for": "assignee"})
        assignee.widget.choices = assignee.choices
        self.fields["assignee"].initial = user.pk
        if not self.instance.pk and not self.initial.get("due_at"):
            tomorrow = timezone.localtime() + timedelta(days=1)
            self.initial["due_at"] = tomorrow.replace(hour=9, minute=0, second=0, microsecond=0)
        if getattr(user, "show_hijri", False):
            # A member who counts in the Hijri calendar may pick the day that way; the time stays the picker's.
            self.fields["due_hijri"] = HijriDateField(
                label=_("Due day in the Hijri calendar"),
                required=False,
                help_text=_("Optional. When filled, this day replaces the date above; the time is kept."),
            )
            self.order_fields(["subject", "due_at", "due_hijri", "assignee", "notes"])

    def clean(self):
        data = super().clean()
        # A Hijri day is another way to type the due date: it changes due_at and is no field of its own.
        day, due = data.pop("due_hijri", None), data.get("due_at")
        if day and due:
            local = timezone.localtime(due)
            data["due_at"] = local.replace(year=day.year, month=day.month, day=day.day)
        return data

    @property
    def changed_data(self):
        names = super().changed_data
        if "due_hijri" not in names:
            return names
        return [name for name in names if name != "due_hijri"] + (["due_at"] if "due_at" not in names else [])


class FollowUpFinishForm(forms.Form):
    """My day's "Done" panel: what came of the follow-up and when the next step is."""

    NEXT_STEPS = [
        ("tomorrow", _("Tomorrow")),
        ("in_3_days", _("In 3 days")),
        ("next_week", _("Next week")),
        ("date", _("On a date")),
        ("none", _("No next step")),
    ]

    outcome = forms.ChoiceField(label=_("What came of it?"), widget=forms.RadioSelect)
    kind = forms.ChoiceField(label=_("How"), widget=forms.RadioSelect, initial="call")
    note = forms.CharField(label=_("Note"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
    next_step = forms.ChoiceField(
        label=_("Next step"), choices=NEXT_STEPS, widget=forms.RadioSelect, initial="tomorrow"
    )
    next_date = forms.DateField(label=_("Date"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        from crm.models import ActivityKind, ActivityOutcome

        # The labels are questions or stand above their choices: no colon after them.
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["outcome"].choices = ActivityOutcome.choices
        self.fields["kind"].choices = [
            (ActivityKind.CALL, ActivityKind.CALL.label),
            (ActivityKind.MEETING, ActivityKind.MEETING.label),
            (ActivityKind.EMAIL, ActivityKind.EMAIL.label),
        ]

    def clean(self):
        data = super().clean()
        if data.get("next_step") == "date" and not data.get("next_date"):
            self.add_error("next_date", _("Pick the date of the next step."))
        return data

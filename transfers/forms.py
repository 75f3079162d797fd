from django import forms
from django.utils.translation import gettext_lazy as _

from transfers.importing import field_choices
from transfers.models import ImportKind


class UploadForm(forms.Form):
    kind = forms.ChoiceField(label=_("What the file holds"), choices=ImportKind.choices)
    file = forms.FileField(
        label=_("File"),
        help_text=_(
            "CSV (UTF-8, UTF-16 or Arabic Windows), Excel (.xlsx) or vCard (.vcf); the first row names the columns."
        ),
    )


class MappingForm(forms.Form):
    """One choice per column of the file: which field it fills."""

    remember = forms.BooleanField(label=_("Remember this mapping for files with the same columns"), required=False)

    def __init__(self, *args, job, **kwargs):
        super().__init__(*args, **kwargs)
        self.job = job
        choices = field_choices(job.kind)
        for index, header in enumerate(job.headers):
            self.fields[f"col_{index}"] = forms.ChoiceField(
                label=header or _("(no name)"),
                choices=choices,
                required=False,
                initial=job.mapping.get(str(index), ""),
            )

    def clean(self):
        cleaned = super().clean()
        chosen = [value for key, value in cleaned.items() if key.startswith("col_") and value]
        if len(chosen) != len(set(chosen)):
            raise forms.ValidationError(_("Each field can be filled from one column only."))
        if not chosen:
            raise forms.ValidationError(_("Choose at least one column to import."))
        return cleaned

    def mapping(self) -> dict:
        return {key[4:]: value for key, value in self.cleaned_data.items() if key.startswith("col_") and value}


class DuplicateCheckForm(forms.Form):
    """The contact form's fields the duplicate warning looks at (query parameters, so they are checked here).

    A Django CharField refuses NUL, which PostgreSQL cannot compare with; the company must be an id.
    """

    email = forms.CharField(required=False, max_length=254)
    phone_raw = forms.CharField(required=False, max_length=64)
    first_name = forms.CharField(required=False, max_length=150)
    last_name = forms.CharField(required=False, max_length=150)
    company = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1)


class ConfirmForm(forms.Form):
    """How a previewed import goes in: all or nothing, or the valid rows with the failing ones handed back.

    The preview page writes the two choices out itself (their labels count the failing rows).
    """

    ALL = "all"
    SKIP = "skip"

    mode = forms.ChoiceField(
        label=_("How to import"),
        choices=[(SKIP, _("Import the valid rows, skip the failing ones")), (ALL, _("Import all or nothing"))],
        required=False,  # left out (a script, an older page): the default below
        error_messages={"invalid_choice": _("Choose how to import.")},
    )

    def __init__(self, *args, job, **kwargs):
        super().__init__(*args, **kwargs)
        # With failing rows, what a member migrating a messy file expects: the good rows in now.
        self.fields["mode"].initial = self.SKIP if job.summary.get("errors") else self.ALL

    def clean_mode(self):
        return self.cleaned_data["mode"] or self.fields["mode"].initial

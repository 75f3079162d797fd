from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import User, time_zone_choices
from core.forms import LocalizedIntegerField, SubmitOnceMixin


class ProfileForm(forms.ModelForm):
    """What a member may change about themselves."""

    time_zone = forms.ChoiceField(label=_("time zone"), choices=time_zone_choices)

    class Meta:
        model = User
        fields = [
            "first_name",
            "last_name",
            "email",
            "language",
            "digits",
            "show_hijri",
            "time_zone",
            "reminder_offset_minutes",
        ]
        field_classes = {"reminder_offset_minutes": LocalizedIntegerField}
        widgets = {"digits": forms.RadioSelect}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Left out (an older page, a script), the digit choice stays as it was.
        self.fields["digits"].required = False

    def clean_digits(self):
        return self.cleaned_data.get("digits") or self.instance.digits


class ApiTokenForm(SubmitOnceMixin, forms.Form):
    name = forms.CharField(
        label=_("token name"), max_length=100, help_text=_("What will use it, for example “ERP sync” or “mobile app”.")
    )

"""Forms of the dashboards: the period picker and filters, and setting a rep's sales target."""

from datetime import date

from django import forms
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from accounts.models import QuotaPeriod, User
from analytics.periods import MAX_CUSTOM_DAYS, PERIODS, Filters, period_for
from analytics.selectors import scope_reps, scope_teams
from core.forms import LocalizedDecimalField, LocalizedIntegerField, QuickSelect, SubmitOnceMixin
from core.money import currency_choices
from pipeline.models import Pipeline


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class DashboardForm(forms.Form):
    """The period picker and the filters; choices are limited to what the viewer may see."""

    period = forms.ChoiceField(label=_("Period"), choices=list(PERIODS.items()), initial="month", required=False)
    start = forms.DateField(label=_("From"), required=False, widget=DateInput())
    end = forms.DateField(label=_("To"), required=False, widget=DateInput())
    team = forms.ModelChoiceField(label=capfirst(_("team")), queryset=None, required=False)
    rep = forms.ModelChoiceField(label=capfirst(_("sales rep")), queryset=None, required=False)
    pipeline = forms.ModelChoiceField(label=capfirst(_("pipeline")), queryset=None, required=False)
    currency = forms.ChoiceField(label=capfirst(_("currency")), required=False, widget=QuickSelect)
    convert_to = forms.ChoiceField(
        label=_("Also convert total sales to"),
        required=False,
        widget=QuickSelect,
        help_text=_("With the exchange rates an administrator maintains; each currency is still shown on its own."),
    )

    def __init__(self, *args, user, today: date, **kwargs):
        super().__init__(*args, **kwargs)
        self.user, self.today = user, today
        teams = scope_teams(user)
        self.fields["team"].queryset = teams
        self.fields["rep"].queryset = scope_reps(user, teams)
        self.fields["pipeline"].queryset = Pipeline.objects.visible_to(user)
        self.fields["currency"].choices = [("", _("Every currency, each on its own")), *currency_choices()]
        self.fields["convert_to"].choices = [("", _("No conversion")), *currency_choices()]

    def clean(self):
        data = super().clean()
        kind = data.get("period") or "month"
        if kind == "custom":
            start, end = data.get("start"), data.get("end")
            if not start or not end:
                raise forms.ValidationError(_("Choose both the first and the last day of a custom period."))
            if end < start:
                raise forms.ValidationError(_("The period cannot end before it starts."))
            if (end - start).days + 1 > MAX_CUSTOM_DAYS:
                raise forms.ValidationError(_("Choose a period of at most two years."))
            data["resolved"] = period_for(kind, self.today, start=start, end=end)
        else:
            data["resolved"] = period_for(kind, self.today)
        return data

    def filters(self) -> Filters:
        data = self.cleaned_data
        return Filters(
            period=data["resolved"],
            team=data.get("team"),
            rep=data.get("rep"),
            pipeline=data.get("pipeline"),
            currency=data.get("currency") or None,
            convert_to=data.get("convert_to") or None,
        )


class QuotaForm(SubmitOnceMixin, forms.Form):
    """Set a rep's target for a month or a quarter (the one containing the chosen day)."""

    rep = forms.ModelChoiceField(
        label=capfirst(_("sales rep")), queryset=User.objects.none(), empty_label=_("— choose —")
    )
    period_kind = forms.ChoiceField(label=_("Period"), choices=QuotaPeriod.choices, initial=QuotaPeriod.MONTH)
    start = forms.DateField(
        label=_("Any day of the period"),
        widget=DateInput(),
        help_text=_("The target covers the whole month or quarter that contains this day."),
    )
    target_won_value = LocalizedDecimalField(label=_("Target won value"), min_value=0, max_digits=14, decimal_places=2)
    currency = forms.ChoiceField(label=capfirst(_("currency")))
    target_won_deals = LocalizedIntegerField(label=_("Target won deals"), min_value=0, initial=0)
    target_activities = LocalizedIntegerField(label=_("Target activities"), min_value=0, initial=0)

    def __init__(self, *args, reps, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["rep"].queryset = reps
        self.fields["currency"].choices = currency_choices()

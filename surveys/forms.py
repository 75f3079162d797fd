"""Forms of the surveys pages: the customer's answer, and a rep's "Ask for feedback"."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from core.forms import SubmitOnceMixin
from surveys import services
from surveys.models import COMMENT_MAX_LENGTH, SCALES, SurveyChannel, SurveyTemplate


class SurveyAnswerForm(forms.Form):
    """One score on the survey's scale and an optional comment; the rules are the service's (parse_score, clean_comment)."""

    score = forms.CharField(label=_("Your score"), required=True, error_messages={"required": _("Choose a score.")})
    comment = forms.CharField(
        label=_("Anything you would like to add? (optional)"),
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": COMMENT_MAX_LENGTH, "dir": "auto"}),
    )

    def __init__(self, *args, survey, **kwargs):
        super().__init__(*args, **kwargs)
        self.survey = survey
        low, high = SCALES[survey.kind]
        self.scale = list(range(low, high + 1))

    def clean_score(self):
        try:
            return services.parse_score(self.survey, self.cleaned_data["score"])
        except ValidationError as error:
            raise ValidationError(error.message_dict["score"]) from None

    def clean_comment(self):
        try:
            return services.clean_comment(self.cleaned_data.get("comment", ""))
        except ValidationError as error:
            raise ValidationError(error.message_dict["comment"]) from None


class AskForFeedbackForm(SubmitOnceMixin, forms.Form):
    """A rep sends a survey to a customer from their page (or a deal's)."""

    template = forms.ModelChoiceField(label=_("Survey"), queryset=SurveyTemplate.objects.none(), empty_label=None)
    channel = forms.ChoiceField(
        label=_("Send by"),
        required=False,
        choices=[("", _("The customer's preferred way")), *SurveyChannel.choices],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = SurveyTemplate.objects.filter(is_active=True).order_by("name", "pk")

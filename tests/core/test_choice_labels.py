"""get_FOO_display() of our models (core.models.ChoiceLabels) says what Django's own would, in each language."""

from django.apps import apps
from django.db.models import Model
from django.utils import translation

from core.models import ChoiceLabels


def _fields_with_choices():
    for model in apps.get_models():
        if not issubclass(model, ChoiceLabels):
            continue
        for field in model._meta.concrete_fields:
            if field.choices is not None:
                yield model, field


def test_every_choice_label_is_djangos_in_both_languages():
    checked = 0
    for model, field in _fields_with_choices():
        record = model()
        display = getattr(record, f"get_{field.name}_display")
        for value, _label in field.flatchoices:
            setattr(record, field.attname, value)
            for language in ("ar", "en"):
                with translation.override(language):
                    assert display() == Model._get_FIELD_display(record, field), (model, field.name, value)
                    checked += 1
    assert checked > 50


def test_a_value_outside_the_choices_is_shown_as_it_is():
    from crm.models import Activity

    activity = Activity(kind="not-a-kind")
    assert activity.get_kind_display() == "not-a-kind"
    activity.kind = "call"
    with translation.override("en"):
        english = activity.get_kind_display()
    with translation.override("ar"):
        arabic = activity.get_kind_display()
    assert english == "Call" and arabic not in ("", "Call", "call")

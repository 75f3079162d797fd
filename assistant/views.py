"""The win model's card: for managers, how the model was trained and how accurate it is against the stage percentage."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from assistant.display import status_reason
from assistant.selectors import card_rows, win_model_card_for


@login_required
def win_model(request):
    card = win_model_card_for(request.user)
    context = {"card": card, "rows": card_rows(card) if card else None}
    if card is None or not card.in_use:
        context["reason"] = status_reason(card)
    return render(request, "assistant/win_model.html", context)

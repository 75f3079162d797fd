from django.urls import path

from pipeline import views

app_name = "pipeline"

urlpatterns = [
    path("deals/", views.DealListView.as_view(), name="deal_list"),
    path("deals/new/", views.DealCreateView.as_view(), name="deal_create"),
    path("deals/quick-add/<int:stage_pk>/", views.DealQuickAddView.as_view(), name="deal_quick_add"),
    path("deals/<int:pk>/", views.DealDetailView.as_view(), name="deal_detail"),
    path("deals/<int:pk>/edit/", views.DealUpdateView.as_view(), name="deal_update"),
    path("deals/<int:pk>/won/", views.DealWonView.as_view(), name="deal_won"),
    path("deals/<int:pk>/lost/", views.DealLostView.as_view(), name="deal_lost"),
    path("deals/<int:pk>/move/", views.DealMoveView.as_view(), name="deal_move"),
    path("board/", views.BoardView.as_view(), name="board"),
    path("board/<int:pipeline_pk>/", views.BoardView.as_view(), name="board_pipeline"),
]

from django.urls import path

from pipeline import views

app_name = "pipeline"

urlpatterns = [
    path("deals/", views.deal_list, name="deal_list"),
    path("deals/new/", views.deal_create, name="deal_create"),
    path("deals/quick-add/<int:stage_pk>/", views.deal_quick_add, name="deal_quick_add"),
    path("deals/<int:pk>/", views.deal_detail, name="deal_detail"),
    path("deals/<int:pk>/edit/", views.deal_update, name="deal_update"),
    path("deals/<int:pk>/won/", views.deal_won, name="deal_won"),
    path("deals/<int:pk>/lost/", views.deal_lost, name="deal_lost"),
    path("deals/<int:pk>/move/", views.deal_move, name="deal_move"),
    path("board/", views.board, name="board"),
    path("board/<int:pipeline_pk>/", views.board, name="board_pipeline"),
]

from django.urls import path

from forewarn.engage import rules_views as views

app_name = "policy"

urlpatterns = [
    path("", views.home, name="home"),
    path("caps/", views.caps, name="caps"),
    path("quiet-hours/", views.quiet_hours, name="quiet-hours"),
    path("topics/", views.topic_list, name="topics"),
    path("topics/new/", views.topic_edit, name="new-topic"),
    path("topics/<int:topic_id>/", views.topic_edit, name="topic"),
]

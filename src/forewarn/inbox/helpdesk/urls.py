from django.urls import path

from forewarn.inbox.helpdesk import views

app_name = "inbox_settings"

urlpatterns = [
    path("", views.home, name="home"),
    path("sla-policies/", views.policy_list, name="policies"),
    path("sla-policies/new/", views.policy_edit, name="new-policy"),
    path("sla-policies/<int:policy_id>/", views.policy_edit, name="policy"),
    path("sla-policies/<int:policy_id>/delete/", views.policy_delete, name="delete-policy"),
    path("calendars/", views.calendar_list, name="calendars"),
    path("calendars/new/", views.calendar_edit, name="new-calendar"),
    path("calendars/<int:calendar_id>/", views.calendar_edit, name="calendar"),
    path("calendars/<int:calendar_id>/delete/", views.calendar_delete, name="delete-calendar"),
    path("routing-rules/", views.rule_list, name="rules"),
    path("routing-rules/new/", views.rule_edit, name="new-rule"),
    path("routing-rules/<int:rule_id>/", views.rule_edit, name="rule"),
    path("routing-rules/<int:rule_id>/delete/", views.rule_delete, name="delete-rule"),
    path("canned-replies/", views.canned_list, name="canned-replies"),
    path("canned-replies/new/", views.canned_edit, name="new-canned-reply"),
    path("canned-replies/<int:canned_id>/", views.canned_edit, name="canned-reply"),
    path("canned-replies/<int:canned_id>/delete/", views.canned_delete, name="delete-canned-reply"),
]

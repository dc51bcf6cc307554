from django.urls import path

from forewarn.inbox.helpdesk import views
from forewarn.inbox.helpdesk.resources import CALENDARS, CANNED_REPLIES, POLICIES, ROUTING_RULES, SETTINGS

app_name = "inbox_settings"

LISTS = {
    POLICIES.key: views.policy_list,
    CALENDARS.key: views.calendar_list,
    ROUTING_RULES.key: views.rule_list,
    CANNED_REPLIES.key: views.canned_list,
}

urlpatterns = [path("", views.home, name="home")]
for setting in SETTINGS:
    edit, delete = views.edit_view(setting), views.delete_view(setting)
    urlpatterns += [
        path(f"{setting.key}/", LISTS[setting.key], name=setting.url_many),
        path(f"{setting.key}/new/", edit, name=f"new-{setting.url_one}"),
        path(f"{setting.key}/<int:pk>/", edit, name=setting.url_one),
        path(f"{setting.key}/<int:pk>/delete/", delete, name=f"delete-{setting.url_one}"),
    ]

from django.urls import path

from forewarn.engage import views

app_name = "engage"

urlpatterns = [
    path("incidents/", views.incident_list, name="incidents"),
    path("incidents/<int:incident_id>/", views.incident_detail, name="incident"),
    path("incidents/<int:incident_id>/resolve/", views.resolve_incident, name="resolve-incident"),
    path("incidents/<int:incident_id>/call-list.csv", views.incident_call_list, name="incident-call-list"),
    path("messages/", views.message_log, name="messages"),
    path("messages/sent/", views.sent_by_demo_provider, name="sent"),
    path("messages/simulate/", views.simulate_inbound, name="simulate"),
    path("customers/<int:customer_id>/messages/", views.customer_messages, name="customer-messages"),
    path("triggers/", views.trigger_list, name="triggers"),
    path("triggers/new/", views.trigger_edit, name="new-trigger"),
    path("triggers/<int:trigger_id>/", views.trigger_edit, name="trigger"),
]

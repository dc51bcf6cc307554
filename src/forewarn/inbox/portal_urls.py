from django.urls import path

from forewarn.inbox import portal_views

app_name = "portal"

urlpatterns = [
    path("<str:token>/", portal_views.home, name="home"),
    path("<str:token>/<int:ticket_id>/", portal_views.ticket, name="ticket"),
]

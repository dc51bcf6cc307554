from django.urls import path

from forewarn.inbox.portal import views as portal_views

app_name = "portal"

urlpatterns = [
    path("<str:token>/", portal_views.home, name="home"),
    path("<str:token>/<int:ticket_id>/", portal_views.ticket, name="ticket"),
]

from django.urls import path

from forewarn.inbox import views

app_name = "inbox"

urlpatterns = [
    path("", views.ticket_list, name="list"),
    path("<int:ticket_id>/", views.ticket_detail, name="ticket"),
    path("<int:ticket_id>/entries/", views.add_entry, name="add-entry"),
]

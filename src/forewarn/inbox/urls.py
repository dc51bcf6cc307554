from django.urls import path

from forewarn.inbox import desk_views, views

app_name = "inbox"

urlpatterns = [
    path("", views.ticket_list, name="list"),
    path("new/", desk_views.new_ticket, name="new"),
    path("bulk/", views.bulk, name="bulk"),
    path("presence/", views.set_presence, name="presence"),
    path("customers/<int:customer_id>/timeline/", views.customer_timeline, name="customer-timeline"),
    path("attachments/<int:attachment_id>/", views.attachment, name="attachment"),
    path("<int:ticket_id>/", views.ticket_detail, name="ticket"),
    path("<int:ticket_id>/entries/", views.add_entry, name="add-entry"),
    path("<int:ticket_id>/entries/<int:entry_id>/", views.entry_text, name="entry-text"),
    path("<int:ticket_id>/update/", views.update, name="update"),
    path("<int:ticket_id>/take/", views.take, name="take"),
    path("<int:ticket_id>/entries/<int:entry_id>/again/", views.send_again, name="send-again"),
    path("<int:ticket_id>/merge/", views.merge, name="merge"),
    path("<int:ticket_id>/split/", views.split, name="split"),
    path("<int:ticket_id>/here/", views.here, name="here"),
    path("<int:ticket_id>/canned/<int:canned_id>/", views.canned_text, name="canned"),
]

from django.urls import path

from forewarn.customers import profile_views, views

app_name = "customers"

urlpatterns = [
    path("", views.customer_list, name="list"),
    path("new/", profile_views.new_customer, name="new"),
    path("<int:customer_id>/", views.customer_detail, name="detail"),
    path("<int:customer_id>/edit/", profile_views.edit_customer, name="edit"),
    path("<int:customer_id>/consent/", views.record_consent, name="record-consent"),
    path("duplicates/", views.duplicates, name="duplicates"),
    path("duplicates/<int:candidate_id>/dismiss/", views.dismiss_duplicate, name="dismiss-duplicate"),
    path("merge/", views.merge, name="merge"),
    path("merges/<int:merge_id>/undo/", views.undo_merge, name="undo-merge"),
    path("imports/", views.imports, name="imports"),
    path("imports/<int:job_id>/", views.import_detail, name="import-detail"),
]

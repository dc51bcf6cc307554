from django.urls import path

from forewarn.privacy import views

app_name = "privacy"

urlpatterns = [
    path("values/<int:value_id>/reveal/", views.reveal, name="reveal"),
    path("audit/", views.audit_log, name="audit"),
    path("customers/<int:customer_id>/export/", views.export_person, name="export"),
    path("customers/<int:customer_id>/erase/", views.erase_person, name="erase"),
]

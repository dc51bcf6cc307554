from django.urls import path

from forewarn.inbox.chat import views as chat_views

app_name = "chat"

urlpatterns = [
    path("demo", chat_views.demo_page, name="demo"),
    path("sessions", chat_views.sessions, name="sessions"),
    path("sessions/<str:token>/messages", chat_views.messages, name="messages"),
    path("sessions/<str:token>/stream", chat_views.stream, name="stream"),
    path("sessions/<str:token>/files", chat_views.files, name="files"),
]

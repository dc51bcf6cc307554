from django.templatetags.static import static
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from django.views.i18n import JavaScriptCatalog

from forewarn.accounts import views as account_views
from forewarn.accounts.api import router as accounts_router
from forewarn.core import views as core_views
from forewarn.customers.api import router as customers_router
from forewarn.engage import views as engage_views
from forewarn.engage.api import router as engage_router
from forewarn.inbox.api import router as inbox_router
from forewarn.inbox.helpdesk.api import router as inbox_settings_router
from forewarn.privacy.api import router as privacy_router
from forewarn.shell import views as shell_views
from forewarn.shell.api import api

api.add_router("/", accounts_router)
api.add_router("/", customers_router)
api.add_router("/", engage_router)
api.add_router("/", privacy_router)
api.add_router("/", inbox_router)
api.add_router("/", inbox_settings_router)

urlpatterns = [
    path("", shell_views.home, name="home"),
    path("health", core_views.health, name="health"),
    # Pages without the icon link (the API docs) still ask for /favicon.ico.
    path("favicon.ico", RedirectView.as_view(url=static("forewarn/favicon.svg"), permanent=True)),
    path("login/", account_views.StaffLoginView.as_view(), name="login"),
    path("logout/", account_views.logout_view, name="logout"),
    # Django's own language switch, which also keeps the choice on a signed-in person's profile.
    path("i18n/setlang/", account_views.set_language, name="set_language"),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("api/v1/", api.urls),
    # Anything else under the API answers in the API's error shape, not with an HTML page.
    re_path(r"^api/", core_views.api_not_found),
    path("customers/", include("forewarn.customers.urls")),
    path("privacy/", include("forewarn.privacy.urls")),
    path("inbox/settings/", include("forewarn.inbox.helpdesk.urls")),
    path("inbox/", include("forewarn.inbox.urls")),
    path("chat/", include("forewarn.inbox.chat.urls")),
    path("my/", include("forewarn.inbox.portal.urls")),
    path("engage/policy/", include("forewarn.engage.rules_urls")),
    path("engage/", include("forewarn.engage.urls")),
    path("u/<str:token>/", engage_views.unsubscribe, name="unsubscribe"),
]

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "forewarn.customers"
    label = "customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        from forewarn.customers.services.personal_data import HOLDER
        from forewarn.privacy.services.subjects import register

        register(HOLDER)

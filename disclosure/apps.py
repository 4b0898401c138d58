from django.apps import AppConfig


class DisclosureConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "disclosure"

    def ready(self) -> None:
        # Registers the system checks of the site's OpenPGP key (disclosure.E101, E102) and of
        # the audit chain's key (disclosure.E111, E112).
        from .services import audit_chain  # noqa: F401
        from .services.channels import site_key  # noqa: F401

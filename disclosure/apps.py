from django.apps import AppConfig


class DisclosureConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "disclosure"

    def ready(self) -> None:
        # Registers the system check of the site's OpenPGP key (disclosure.E101, E102).
        from .services.channels import site_key  # noqa: F401

from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Operations the deployment runs (management commands), no models of its own."""

    name = "app.ops"
    label = "ops"

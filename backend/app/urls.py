from django.conf import settings
from django.urls import include, path

from app.api import views

api = [
    path("healthz", views.healthz),
    path("readyz", views.readyz),
    path("openapi.json", views.openapi),
    path("users", views.users),
    path("users/<int:user_id>", views.user),
    path("posts", views.create_post),
    path("posts/<int:post_id>", views.post),
    path("feed", views.feed),
    path("feed/notifications", views.notifications),
    path("short-urls", views.short_urls),
]

# The edge routes a service's own prefix to it unchanged (split: `/account` -> the account
# service sees `/account/users`), so the API is also served under `/<service>/`.
urlpatterns = [*api, path(f"{settings.STAGECRAFT.service}/", include(api))]

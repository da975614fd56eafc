from django.urls import path

from app.api import views

urlpatterns = [
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

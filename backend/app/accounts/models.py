from typing import Any

from django.db import models


class User(models.Model):
    """The Account aggregate root: a user and its profile fields."""

    username = models.CharField(max_length=32, unique=True)
    display_name = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.pk, "username": self.username, "displayName": self.display_name, "createdAt": self.created_at.isoformat()}

from typing import Any

from django.db import models


class Notification(models.Model):
    """What a Celery task leaves behind when a post is published (and pushes to subscribers)."""

    user_id = models.BigIntegerField(db_index=True)
    post_id = models.BigIntegerField()
    text = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.pk, "userId": self.user_id, "postId": self.post_id, "text": self.text, "createdAt": self.created_at.isoformat()}

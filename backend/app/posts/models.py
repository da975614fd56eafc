from typing import Any

from django.db import models


class Post(models.Model):
    """The Post aggregate root. The author is an id, not a foreign key: from split on, users live
    in another service's schema."""

    author_id = models.BigIntegerField(db_index=True)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.pk, "authorId": self.author_id, "body": self.body, "createdAt": self.created_at.isoformat()}


class Comment(models.Model):
    """Part of the content context; reached through the Post aggregate root."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="comments")
    author_id = models.BigIntegerField()
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

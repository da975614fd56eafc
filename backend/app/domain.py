"""The application's use cases, each backed by whoever owns the data according to settings.json:
this process's own database (mvc, and the owning service later), another Django service over
HTTP (split), or a data service over RPC (micro, ddd). Views and RPC handlers call only these.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Protocol

from django.conf import settings
from django.db import IntegrityError, transaction

from app.config import ConfigError, Settings
from app.errors import Conflict, NotFound

# Which callee owns which aggregate. Names of services are data in the spec; these are the names
# the stacks give the owners (split/micro: account, feed; ddd: user-data, content-data).
ACCOUNT_OWNERS = ("account", "user-data")
POST_OWNERS = ("feed", "content-data")

USERNAME_MAX, DISPLAY_MAX, BODY_MAX = 32, 64, 2000


class Accounts(Protocol):
    def create(self, username: str, display_name: str) -> dict[str, Any]: ...
    def get(self, user_id: int) -> dict[str, Any]: ...


class Posts(Protocol):
    def create(self, author_id: int, body: str) -> dict[str, Any]: ...
    def feed(self, limit: int) -> list[dict[str, Any]]: ...
    def get(self, post_id: int) -> dict[str, Any]: ...
    def notifications(self, user_id: int) -> list[dict[str, Any]]: ...


class LocalAccounts:
    def create(self, username: str, display_name: str) -> dict[str, Any]:
        from app.accounts.models import User

        try:
            with transaction.atomic(using="default"):
                user = User.objects.using("default").create(username=username, display_name=display_name)
        except IntegrityError as e:
            raise Conflict(f"username '{username}' is taken") from e
        out: dict[str, Any] = user.as_dict()
        return out

    def get(self, user_id: int) -> dict[str, Any]:
        from app.accounts.models import User

        # The primary, not a replica: a user created a moment ago must be found (no lag).
        user = User.objects.using("default").filter(pk=user_id).first()
        if user is None:
            raise NotFound(f"user {user_id} not found")
        out: dict[str, Any] = user.as_dict()
        return out


class LocalPosts:
    def create(self, author_id: int, body: str) -> dict[str, Any]:
        from app.posts.models import Post

        post: dict[str, Any] = Post.objects.using("default").create(author_id=author_id, body=body).as_dict()
        # The owner of the post announces it: a Celery task where this service has workers,
        # inline otherwise (an RPC data service has none).
        from app.notifications.tasks import announce

        announce(post)
        return post

    def feed(self, limit: int) -> list[dict[str, Any]]:
        from app.posts.models import Post

        # Reads go wherever the router sends them: the replicas when the service may read them.
        return [p.as_dict() for p in Post.objects.order_by("-created_at", "-id")[:limit]]

    def get(self, post_id: int) -> dict[str, Any]:
        from app.posts.models import Post

        post = Post.objects.using("default").filter(pk=post_id).first()
        if post is None:
            raise NotFound(f"post {post_id} not found")
        out: dict[str, Any] = post.as_dict()
        return out

    def notifications(self, user_id: int) -> list[dict[str, Any]]:
        from app.notifications.models import Notification

        rows = Notification.objects.using("default").filter(user_id=user_id).order_by("-id")[:50]
        return [n.as_dict() for n in rows]


def _owner(s: Settings, owners: tuple[str, ...]) -> str | None:
    return next((name for name in owners if name in s.calls), None)


def accounts_for(s: Settings) -> Accounts:
    owner = _owner(s, ACCOUNT_OWNERS)
    if owner is not None:
        from app.remote import HttpAccounts, RpcAccounts

        return HttpAccounts(s, owner) if s.calls[owner].protocol == "http" else RpcAccounts(owner)
    if s.database is None:
        raise ConfigError(f"service {s.service} has no database and calls none of {ACCOUNT_OWNERS}: it cannot serve users")
    return LocalAccounts()


def posts_for(s: Settings) -> Posts:
    owner = _owner(s, POST_OWNERS)
    if owner is not None:
        from app.remote import HttpPosts, RpcPosts

        return HttpPosts(s, owner) if s.calls[owner].protocol == "http" else RpcPosts(owner)
    if s.database is None:
        raise ConfigError(f"service {s.service} has no database and calls none of {POST_OWNERS}: it cannot serve posts")
    return LocalPosts()


@cache
def accounts() -> Accounts:
    return accounts_for(settings.STAGECRAFT)


@cache
def posts() -> Posts:
    return posts_for(settings.STAGECRAFT)

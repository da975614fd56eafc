"""The aggregate roots a data service exposes over RPC, each backed by the service's own schema.
settings.json `contexts` (a data service's bounded contexts) picks which roots a service serves; without it a
service serves every root its database holds."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.config import Settings
from app.domain import LocalAccounts, LocalPosts
from app.errors import BadInput, NotFound


def _int(args: dict[str, Any], key: str) -> int:
    v = args.get(key)
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise BadInput(f"argument '{key}' must be a positive integer, got {v!r}")
    return v


def _str(args: dict[str, Any], key: str, max_len: int, required: bool = True) -> str:
    v = args.get(key, None if required else "")
    if not isinstance(v, str) or (required and not v) or len(v) > max_len:
        raise BadInput(f"argument '{key}' must be a string of 1-{max_len} characters, got {v!r}")
    return v


def account_root() -> dict[str, Callable[[dict[str, Any]], Any]]:
    accounts = LocalAccounts()
    return {
        "Account.create": lambda a: accounts.create(_str(a, "username", 32), _str(a, "displayName", 64, required=False)),
        "Account.get": lambda a: accounts.get(_int(a, "id")),
    }


def profile_root() -> dict[str, Callable[[dict[str, Any]], Any]]:
    def get(a: dict[str, Any]) -> dict[str, Any]:
        user = LocalAccounts().get(_int(a, "userId"))
        return {"userId": user["id"], "displayName": user["displayName"]}

    def update(a: dict[str, Any]) -> dict[str, Any]:
        from app.accounts.models import User

        n = User.objects.using("default").filter(pk=_int(a, "userId")).update(display_name=_str(a, "displayName", 64))
        if not n:
            raise NotFound(f"user {a['userId']} not found")
        return get(a)

    return {"Profile.get": get, "Profile.update": update}


def post_root() -> dict[str, Callable[[dict[str, Any]], Any]]:
    posts = LocalPosts()

    def feed(a: dict[str, Any]) -> list[dict[str, Any]]:
        limit = a.get("limit", 20)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 100:
            raise BadInput(f"argument 'limit' must be 1-100, got {limit!r}")
        return posts.feed(limit)

    return {
        "Post.create": lambda a: posts.create(_int(a, "authorId"), _str(a, "body", 2000)),
        "Post.get": lambda a: posts.get(_int(a, "id")),
        "Post.feed": feed,
        "Post.notifications": lambda a: posts.notifications(_int(a, "userId")),
    }


def comment_root() -> dict[str, Callable[[dict[str, Any]], Any]]:
    from app.posts.models import Comment, Post

    def add(a: dict[str, Any]) -> dict[str, Any]:
        post = Post.objects.using("default").filter(pk=_int(a, "postId")).first()
        if post is None:
            raise NotFound(f"post {a['postId']} not found")
        c = Comment.objects.using("default").create(post=post, author_id=_int(a, "authorId"), body=_str(a, "body", 2000))
        return {"id": c.pk, "postId": post.pk, "authorId": c.author_id, "body": c.body}

    def list_(a: dict[str, Any]) -> list[dict[str, Any]]:
        rows = Comment.objects.filter(post_id=_int(a, "postId")).order_by("id")[:100]
        return [{"id": c.pk, "postId": c.post_id, "authorId": c.author_id, "body": c.body} for c in rows]

    return {"Comment.add": add, "Comment.list": list_}


ROOTS: dict[str, Callable[[], dict[str, Callable[[dict[str, Any]], Any]]]] = {
    "Account": account_root,
    "Profile": profile_root,
    "Post": post_root,
    "Comment": comment_root,
}


def handlers_for(s: Settings) -> dict[str, Callable[[dict[str, Any]], Any]]:
    if s.database is None:
        raise SystemExit(f"service {s.service}: an RPC service owns data, but settings.json has no database")
    roots = [c.aggregate_root for c in s.contexts] if s.contexts is not None else list(ROOTS)
    unknown = [r for r in roots if r not in ROOTS]
    if unknown:
        raise SystemExit(f"service {s.service}: settings.json contexts name aggregate roots {unknown}; this backend has {sorted(ROOTS)}")
    out: dict[str, Callable[[dict[str, Any]], Any]] = {}
    for r in roots:
        out.update(ROOTS[r]())
    return out

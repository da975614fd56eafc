"""Accounts and Posts owned by another service: over HTTP (split) or RPC (micro, ddd)."""

from __future__ import annotations

from typing import Any, cast

from app.calls import HttpCaller
from app.config import Settings


class HttpAccounts:
    def __init__(self, s: Settings, callee: str) -> None:
        self.http = HttpCaller(s, callee)

    def create(self, username: str, display_name: str) -> dict[str, Any]:
        return cast(dict[str, Any], self.http.request("POST", "/users", {"username": username, "displayName": display_name}))

    def get(self, user_id: int) -> dict[str, Any]:
        return cast(dict[str, Any], self.http.request("GET", f"/users/{user_id}"))


class HttpPosts:
    def __init__(self, s: Settings, callee: str) -> None:
        self.http = HttpCaller(s, callee)

    def create(self, author_id: int, body: str) -> dict[str, Any]:
        return cast(dict[str, Any], self.http.request("POST", "/posts", {"userId": author_id, "body": body}))

    def feed(self, limit: int) -> list[dict[str, Any]]:
        return cast(list[dict[str, Any]], self.http.request("GET", f"/feed?limit={limit}")["posts"])

    def get(self, post_id: int) -> dict[str, Any]:
        return cast(dict[str, Any], self.http.request("GET", f"/posts/{post_id}"))

    def notifications(self, user_id: int) -> list[dict[str, Any]]:
        return cast(list[dict[str, Any]], self.http.request("GET", f"/feed/notifications?userId={user_id}")["notifications"])


class RpcAccounts:
    def __init__(self, callee: str) -> None:
        self.callee = callee

    def create(self, username: str, display_name: str) -> dict[str, Any]:
        from app.rpc.client import shared_client

        return cast(
            dict[str, Any],
            shared_client().call(self.callee, "Account.create", {"username": username, "displayName": display_name}, key=username),
        )

    def get(self, user_id: int) -> dict[str, Any]:
        from app.rpc.client import shared_client

        return cast(dict[str, Any], shared_client().call(self.callee, "Account.get", {"id": user_id}, key=str(user_id)))


class RpcPosts:
    def __init__(self, callee: str) -> None:
        self.callee = callee

    def create(self, author_id: int, body: str) -> dict[str, Any]:
        from app.rpc.client import shared_client

        return cast(
            dict[str, Any], shared_client().call(self.callee, "Post.create", {"authorId": author_id, "body": body}, key=str(author_id))
        )

    def feed(self, limit: int) -> list[dict[str, Any]]:
        from app.rpc.client import shared_client

        return cast(list[dict[str, Any]], shared_client().call(self.callee, "Post.feed", {"limit": limit}, key="feed"))

    def get(self, post_id: int) -> dict[str, Any]:
        from app.rpc.client import shared_client

        return cast(dict[str, Any], shared_client().call(self.callee, "Post.get", {"id": post_id}, key=str(post_id)))

    def notifications(self, user_id: int) -> list[dict[str, Any]]:
        from app.rpc.client import shared_client

        return cast(list[dict[str, Any]], shared_client().call(self.callee, "Post.notifications", {"userId": user_id}, key=str(user_id)))

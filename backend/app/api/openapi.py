"""The HTTP API's OpenAPI 3.1 document (served at /openapi.json; the tests check real responses
against it). OpenAPI 3.1 schemas are JSON Schema 2020-12, so any JSON Schema validator reads them."""

from __future__ import annotations

from typing import Any


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Any]:
    why = {
        400: "bad input: malformed JSON, a missing or mistyped field",
        404: "not found",
        409: "conflict",
        413: "body too large",
        429: "a callee's rate limit refused the call",
        503: "a store or callee is unavailable; retry",
    }
    return {str(s): _json(_ref("Error"), why[s]) for s in statuses}


_ID = {"type": "integer", "minimum": 1}
_TIME = {"type": "string", "format": "date-time"}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "additionalProperties": False,
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "additionalProperties": False,
                "properties": {
                    "code": {
                        "type": "string",
                        "enum": [
                            "bad_request",
                            "bad_input",
                            "not_found",
                            "method_not_allowed",
                            "conflict",
                            "too_large",
                            "rate_limited",
                            "unavailable",
                        ],
                    },
                    "message": {"type": "string", "minLength": 1},
                },
            }
        },
    },
    "Health": {
        "type": "object",
        "required": ["status"],
        "properties": {"status": {"type": "string", "enum": ["ok", "unavailable"]}, "database": {"type": "string"}},
    },
    "NewUser": {
        "type": "object",
        "required": ["username"],
        "properties": {"username": {"type": "string", "pattern": "^[a-z0-9_]{3,32}$"}, "displayName": {"type": "string", "maxLength": 64}},
    },
    "User": {
        "type": "object",
        "required": ["id", "username", "displayName", "createdAt"],
        "additionalProperties": False,
        "properties": {"id": _ID, "username": {"type": "string"}, "displayName": {"type": "string"}, "createdAt": _TIME},
    },
    "NewPost": {
        "type": "object",
        "required": ["userId", "body"],
        "properties": {"userId": _ID, "body": {"type": "string", "minLength": 1, "maxLength": 2000}},
    },
    "Post": {
        "type": "object",
        "required": ["id", "authorId", "body", "createdAt"],
        "additionalProperties": False,
        "properties": {"id": _ID, "authorId": _ID, "body": {"type": "string"}, "createdAt": _TIME},
    },
    "Feed": {
        "type": "object",
        "required": ["posts", "cached"],
        "additionalProperties": False,
        "properties": {"posts": {"type": "array", "items": _ref("Post")}, "cached": {"type": "boolean"}},
    },
    "Notification": {
        "type": "object",
        "required": ["id", "userId", "postId", "text", "createdAt"],
        "additionalProperties": False,
        "properties": {"id": _ID, "userId": _ID, "postId": _ID, "text": {"type": "string"}, "createdAt": _TIME},
    },
    "Notifications": {
        "type": "object",
        "required": ["notifications"],
        "additionalProperties": False,
        "properties": {"notifications": {"type": "array", "items": _ref("Notification")}},
    },
    "NewShortUrl": {"type": "object", "required": ["url"], "properties": {"url": {"type": "string", "pattern": "^https?://"}}},
    "ShortUrl": {
        "type": "object",
        "required": ["code", "url"],
        "additionalProperties": False,
        "properties": {"code": {"type": "string", "pattern": "^[A-Za-z0-9]{8}$"}, "url": {"type": "string"}},
    },
}


def _body(name: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": _ref(name)}}}


def _path_id(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": _ID}


PATHS: dict[str, Any] = {
    "/healthz": {"get": {"summary": "Liveness: the process answers", "responses": {"200": _json(_ref("Health"), "up")}}},
    "/readyz": {
        "get": {
            "summary": "Readiness: the database answers",
            "responses": {"200": _json(_ref("Health"), "ready"), "503": _json(_ref("Health"), "database unreachable")},
        }
    },
    "/openapi.json": {"get": {"summary": "This document", "responses": {"200": _json({"type": "object"}, "OpenAPI 3.1")}}},
    "/users": {
        "post": {
            "summary": "Create a user",
            "requestBody": _body("NewUser"),
            "responses": {"201": _json(_ref("User"), "created"), **_errors(400, 409, 413, 429, 503)},
        }
    },
    "/users/{userId}": {
        "get": {
            "summary": "A user",
            "parameters": [_path_id("userId")],
            "responses": {"200": _json(_ref("User"), "the user"), **_errors(404, 429, 503)},
        }
    },
    "/posts": {
        "post": {
            "summary": "Publish a post (announced by a notification and a push)",
            "requestBody": _body("NewPost"),
            "responses": {"201": _json(_ref("Post"), "created"), **_errors(400, 404, 413, 429, 503)},
        }
    },
    "/posts/{postId}": {
        "get": {
            "summary": "A post",
            "parameters": [_path_id("postId")],
            "responses": {"200": _json(_ref("Post"), "the post"), **_errors(404, 429, 503)},
        }
    },
    "/feed": {
        "get": {
            "summary": "Latest posts; `cached` (and the X-Cache header) tell whether the cache served it",
            "parameters": [
                {
                    "name": "limit",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
                }
            ],
            "responses": {"200": _json(_ref("Feed"), "the feed"), **_errors(400, 429, 503)},
        }
    },
    "/feed/notifications": {
        "get": {
            "summary": "A user's notifications (left by the announce task)",
            "parameters": [{"name": "userId", "in": "query", "required": True, "schema": _ID}],
            "responses": {"200": _json(_ref("Notifications"), "newest first"), **_errors(400, 429, 503)},
        }
    },
    "/short-urls": {
        "post": {
            "summary": "Create a short code, followed by the short-URL service at <route>/<code>",
            "requestBody": _body("NewShortUrl"),
            "responses": {"201": _json(_ref("ShortUrl"), "created"), **_errors(400, 404, 413, 503)},
        }
    },
}


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Stagecraft reference backend", "version": "1.0.0"},
        "paths": PATHS,
        "components": {"schemas": SCHEMAS},
    }

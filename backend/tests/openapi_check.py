"""Checks a real response against the OpenAPI document the app serves: the path and method must
be documented, the status listed, and the JSON body valid against that status's schema."""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema

from app.api.openapi import document

DOC = document()


def _template(path: str) -> str:
    for template in DOC["paths"]:
        pattern = "^" + re.sub(r"\{[^}]+\}", r"[^/]+", template) + "$"
        if re.match(pattern, path):
            return str(template)
    raise AssertionError(f"{path} is not in the OpenAPI document")


def check(method: str, path: str, response: Any) -> Any:
    op = DOC["paths"][_template(path.split("?")[0])].get(method.lower())
    assert op is not None, f"{method} {path} is not documented"
    status = str(response.status_code)
    assert status in op["responses"], f"{method} {path} answered {status}, which the document does not list ({sorted(op['responses'])})"
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = json.loads(response.content)
    schema = op["responses"][status]["content"]["application/json"]["schema"]
    jsonschema.Draft202012Validator({**schema, "components": DOC["components"]}, format_checker=jsonschema.FormatChecker()).validate(body)
    return body

"""The OpenAPI schema with each platform's request bodies: the routes read their bodies themselves (so that
errors come in the platform's shape), so the bodies' schemas are added here from the adapters' models."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from mixdown.api_compat.songclip.models import ClipSpec
from mixdown.api_compat.twistedwave.models import JobRequest
from mixdown.api_compat.twoshot.models import Project, RenderRequest

BODIES: dict[tuple[str, str], type[BaseModel]] = {
    ("/twoshot/project", "post"): Project,
    ("/twoshot/project/{project_id}", "put"): Project,
    ("/twoshot/project/{project_id}/render", "post"): RenderRequest,
    ("/twoshot/project/render", "post"): Project,
    ("/twistedwave/online/api/jobs", "post"): JobRequest,
    ("/songclip/songclips", "post"): ClipSpec,
}
#: A render of a stored project may come with no body (the defaults).
OPTIONAL_BODIES = ("/twoshot/project/{project_id}/render",)


def install(app: FastAPI) -> None:
    def schema() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(title=app.title, version=app.version, description=app.description,
                                   routes=app.routes)
            components = document.setdefault("components", {}).setdefault("schemas", {})
            for (path, method), model in BODIES.items():
                body = model.model_json_schema(ref_template="#/components/schemas/{model}")
                components.update(body.pop("$defs", {}))
                components[model.__name__] = body
                operation = document["paths"][path][method]
                operation["requestBody"] = {"required": path not in OPTIONAL_BODIES, "content": {"application/json": {
                    "schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}}
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = schema

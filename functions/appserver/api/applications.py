"""Applications of an organization and their HTTP integration (webhook)."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.exceptions import BadRequestError, NotFoundError
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import BaseModel, Field

from functions.appserver import mqtt_credentials, webhooks
from functions.appserver.api.common import UUID_PATTERN, new_id, owned
from functions.appserver.api.organizations import list_in_organization, organization
from functions.appserver.auth import Resource
from functions.appserver.models import Application, Device

router = APIGatewayRouter()
AppId = Annotated[str, Path(pattern=UUID_PATTERN)]


class ApplicationCreate(BaseModel):
    organization_id: str = Field(pattern=UUID_PATTERN)
    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=1000)


class ApplicationUpdate(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=1000)


def _out(application: Application) -> dict[str, Any]:
    return {
        "id": application.application_id,
        "organization_id": application.org_id,
        "name": application.name,
        "description": application.description,
    }


def application(
    application_id: str, resource: Resource = Resource.APPLICATIONS, *, write: bool
) -> Application:
    """The application, once the caller may read (or write) `resource` in its organization. Another
    tenant's application is reported as not found."""
    return owned(Application, application_id, resource, write=write, what="application")


@router.get("/applications")
def list_applications() -> dict[str, Any]:
    return list_in_organization(router, Application, Resource.APPLICATIONS, _out)


@router.post("/applications")
def create_application(body: ApplicationCreate) -> tuple[dict[str, Any], int]:
    organization(body.organization_id, Resource.APPLICATIONS, write=True)
    item = Application(
        new_id(),
        org_id=body.organization_id,
        name=body.name,
        name_lower=body.name.lower(),
        description=body.description,
    )
    item.save(condition=Application.application_id.does_not_exist())
    return _out(item), 201


@router.get("/applications/<application_id>")
def get_application(application_id: AppId) -> dict[str, Any]:
    return _out(application(application_id, write=False))


@router.put("/applications/<application_id>")
def update_application(application_id: AppId, body: ApplicationUpdate) -> dict[str, Any]:
    item = application(application_id, write=True)
    item.update(
        actions=[
            Application.name.set(body.name),
            Application.name_lower.set(body.name.lower()),
            Application.description.set(body.description),
        ]
    )
    return _out(item)


@router.delete("/applications/<application_id>")
def delete_application(application_id: AppId) -> tuple[dict[str, Any], int]:
    item = application(application_id, write=True)
    if next(iter(Device.by_application.query(application_id, limit=1)), None) is not None:
        raise BadRequestError("the application still has devices; delete them first")
    item.delete()
    return {}, 204


# -- HTTP integration -------------------------------------------------------------------------------


class HttpIntegration(BaseModel):
    url: str = Field(pattern=r"^https?://[^\s]+$", max_length=2000)
    headers: dict[str, str] | None = Field(
        default=None,
        max_length=20,
        description="write-only, kept sealed: omit to keep the stored ones, {} to remove them",
    )
    secret: str | None = Field(default=None, min_length=16, max_length=200, description="write-only")


def _integration_out(item: Application) -> dict[str, Any]:
    """Header values and the secret are never shown, not even to admins: only which headers are set."""
    config = item.http_integration or {}
    return {
        "url": config["url"],
        "headers": webhooks.header_names(config),
        "has_secret": bool(config.get("secret")),
    }


@router.get("/applications/<application_id>/integrations/http")
def get_http_integration(application_id: AppId) -> dict[str, Any]:
    item = application(application_id, write=False)
    if not item.http_integration:
        raise NotFoundError("the application has no HTTP integration")
    return _integration_out(item)


@router.put("/applications/<application_id>/integrations/http")
def put_http_integration(application_id: AppId, body: HttpIntegration) -> dict[str, Any]:
    item = application(application_id, write=True)
    previous = item.http_integration or {}
    config: dict[str, Any] = {"url": body.url}
    if body.headers is not None:
        try:
            config |= webhooks.seal_headers(item.application_id, body.headers)
        except ValueError as exc:
            raise BadRequestError(str(exc)) from exc
    else:  # unchanged when not given again
        config |= {k: previous[k] for k in ("sealed_headers", "header_names", "headers") if k in previous}
    if body.secret is not None:
        config["secret"] = webhooks.seal_secret(item.application_id, body.secret)
    elif previous.get("secret"):
        config["secret"] = previous["secret"]
    item.update(actions=[Application.http_integration.set(config)])
    return _integration_out(item)


@router.delete("/applications/<application_id>/integrations/http")
def delete_http_integration(application_id: AppId) -> tuple[dict[str, Any], int]:
    item = application(application_id, write=True)
    item.update(actions=[Application.http_integration.set({})])
    return {}, 204


@router.post("/applications/<application_id>/integrations/mqtt/certificate")
def mqtt_certificate(application_id: AppId) -> tuple[dict[str, Any], int]:
    """A client certificate for the application's MQTT topics; the private key is shown this once."""
    item = application(application_id, write=True)
    try:
        return mqtt_credentials.issue(item.application_id), 201
    except mqtt_credentials.CredentialsUnavailable as exc:
        raise BadRequestError(str(exc)) from exc

"""Azure Resource Manager's deployments of an Azure OpenAI resource, under the emulator's own origin:
``/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.CognitiveServices/accounts/{account}/deployments
[/{name}]?api-version=...`` (GET list, GET, PUT create-or-update, DELETE).

ARM wants an Entra bearer token, not the resource's api-key. A PUT answers 201 (created) or 200 (updated) while the
deployment provisions: ``Creating`` (or ``Updating``) for ``deploy_duration`` seconds of the emulator clock, then
``Succeeded`` (or ``Failed``, after ``POST /_emulator/deployments/fail-next``). What a deployment serves must be a
model of this resource; its capacity must fit the quota (``QUOTA`` units per deployment); the model of a deployment
cannot be changed. Errors are ARM's ``{"error": {"code", "message"}}``. A fine-tuned model a live deployment serves
cannot be deleted (``deployed_names``, used by the data plane's model delete).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from ftops.emulator import modeltable
from ftops.emulator.apierror import ApiError
from ftops.emulator.dialects import bearer_key
from ftops.emulator.httpio import Reply, Request
from ftops.emulator.state import Tx

SKUS = {"standard": "Standard", "globalstandard": "GlobalStandard", "developertier": "DeveloperTier"}
QUOTA = 50  # capacity units one deployment may take in the emulator
RESOURCE_TYPE = "Microsoft.CognitiveServices/accounts/deployments"
ROOT = ("/subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.CognitiveServices/accounts/<acct>"
        "/deployments")


def error(status: int, code: str, message: str) -> ApiError:
    return ApiError(status, message, code=code)


def records(tx: Tx) -> dict[str, dict[str, Any]]:
    """This dialect's deployments, keyed by ``sub/rg/account/name`` (names are case-insensitive in ARM)."""
    mine = tx.data.setdefault("dialects", {}).setdefault("azure", {})
    return mine.setdefault("deployments", {})


def _fail_next(tx: Tx) -> list[str]:
    return tx.data.setdefault("dialects", {}).setdefault("azure", {}).setdefault("fail_next", [])


def _key(req: Request, name: str | None = None) -> str:
    p = req.params
    return "/".join((p["sub"], p["rg"].lower(), p["acct"].lower(), (name or p["name"]).lower()))


def _arm_id(record: dict[str, Any]) -> str:
    return (f"/subscriptions/{record['sub']}/resourceGroups/{record['rg']}/providers/Microsoft.CognitiveServices/"
            f"accounts/{record['acct']}/deployments/{record['name']}")


def state(record: dict[str, Any], now: float) -> str:
    """The provisioning state the emulator clock says."""
    if now < record["since"] + record["duration"]:
        return record["pending"]  # Creating or Updating
    return record["outcome"]


def view(tx: Tx, record: dict[str, Any]) -> dict[str, Any]:
    iso = lambda t: dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # noqa: E731
    return {
        "id": _arm_id(record), "type": RESOURCE_TYPE, "name": record["name"],
        "sku": {"name": record["sku"], "capacity": record["capacity"]},
        "properties": {"model": {"format": "OpenAI", "name": record["model"], "version": "1"},
                       "provisioningState": state(record, tx.now), "versionUpgradeOption": "NoAutoUpgrade",
                       "rateLimits": [{"key": "request", "renewalPeriod": 10, "count": record["capacity"] * 10}]},
        "systemData": {"createdAt": iso(record["created"]), "lastModifiedAt": iso(record["since"])},
        "etag": f'"{hashlib.sha256(repr(sorted(record.items())).encode()).hexdigest()[:32]}"',
    }


def _authorised(req: Request) -> None:
    """ARM takes an Entra bearer token; a resource's api-key means nothing to it."""
    if bearer_key(req.headers) is None:
        raise error(401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing "
                                                 "(Azure Resource Manager needs a bearer token, not an api-key).")
    if not req.arg("api-version"):
        raise error(400, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is "
                                                       "required for all requests.")


def _found(tx: Tx, req: Request) -> dict[str, Any]:
    record = records(tx).get(_key(req))
    if record is None:
        raise error(404, "DeploymentNotFound", f"Deployment {req.params['name']!r} does not exist in account "
                                               f"{req.params['acct']!r}.")
    return record


def list_deployments(tx: Tx, req: Request) -> dict[str, Any]:
    _authorised(req)
    prefix = _key(req, "x")[:-1]
    return {"value": [view(tx, r) for key, r in sorted(records(tx).items()) if key.startswith(prefix)]}


def retrieve(tx: Tx, req: Request) -> dict[str, Any]:
    _authorised(req)
    return view(tx, _found(tx, req))


def put(tx: Tx, req: Request) -> Reply:
    _authorised(req)
    body = req.json()
    sku, props = body.get("sku"), body.get("properties")
    model = (props.get("model") if isinstance(props, dict) else None) or {}
    if not isinstance(sku, dict) or str(sku.get("name", "")).lower() not in SKUS:
        raise error(400, "InvalidResourceProperties", f"The sku {sku.get('name') if isinstance(sku, dict) else sku!r} "
                                                      f"is not supported; use one of {', '.join(SKUS.values())}.")
    capacity = sku.get("capacity", 1)
    if not isinstance(capacity, int) or isinstance(capacity, bool) or capacity < 1:
        raise error(400, "InvalidResourceProperties", "The sku capacity must be a positive integer.")
    if not isinstance(model, dict) or model.get("format") != "OpenAI" or not isinstance(model.get("name"), str):
        raise error(400, "InvalidResourceProperties", "properties.model must be {format: 'OpenAI', name, version}.")
    name = model["name"]
    if name not in tx.data["models"] and not modeltable.is_base(tx, name):
        raise error(400, "DeploymentModelNotSupported", f"The model {name!r} does not exist in account "
                                                        f"{req.params['acct']!r} or cannot be deployed.")
    if modeltable.is_shut_down(tx, name):
        raise error(400, "ModelRetired", f"Model {name} was retired on {modeltable.shutdown_date(tx, name)}; it "
                                         "can no longer be deployed.")
    if capacity > QUOTA:
        raise error(400, "InsufficientQuota", f"This operation requires {capacity} capacity units, which is more "
                                              f"than the {QUOTA} available in this subscription's quota for {name}.")
    key = _key(req)
    existing = records(tx).get(key)
    if existing is not None and existing["model"] != name:
        raise error(400, "InvalidResourceProperties", f"The model of deployment {existing['name']!r} cannot be "
                                                      f"changed from {existing['model']} to {name}; create another "
                                                      "deployment.")
    failing = _fail_next(tx)
    outcome = "Failed" if failing else "Succeeded"
    if failing:
        failing.pop(0)
    record = {"sub": req.params["sub"], "rg": req.params["rg"], "acct": req.params["acct"],
              "name": existing["name"] if existing else req.params["name"], "model": name,
              "sku": SKUS[str(sku["name"]).lower()], "capacity": capacity,
              "created": existing["created"] if existing else tx.now, "since": tx.now,
              "duration": tx.cfg.deploy_duration, "pending": "Updating" if existing else "Creating",
              "outcome": outcome}
    records(tx)[key] = record
    tx.touch()
    answer = view(tx, record)
    answer["properties"]["provisioningState"] = record["pending"]  # ARM answers while the operation runs
    return Reply(200 if existing else 201, answer)


def delete(tx: Tx, req: Request) -> Reply:
    _authorised(req)
    if records(tx).pop(_key(req), None) is None:
        return Reply(204)
    tx.touch()
    return Reply(200)


def deployed_names(tx: Tx, model: str) -> list[str]:
    """The deployments serving ``model`` (whatever their provisioning state: a failed one still holds it)."""
    return sorted(r["name"] for r in records(tx).values() if r["model"] == model)


def fail_next(tx: Tx, req: Request) -> dict[str, Any]:
    """Admin: the next deployment created or updated ends its provisioning ``Failed``."""
    count = req.json(required=False, lenient=True).get("count", 1)
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise error(400, "BadRequest", "'count' must be a non-negative integer.")
    _fail_next(tx).extend(["Failed"] * count)
    tx.touch()
    return {"pending": len(_fail_next(tx))}

"""Fireworks models, deployments and deployed models.

- ``accounts/fireworks/models/*``: the base models of this dialect's table; ``accounts/{a}/models/*``: the
  fine-tunes the account's jobs produced (LoRA addons; deletable).
- ``deployments``: a minimal dedicated deployment (create with ``deploymentId``, get, list, delete): CREATING, then
  READY after a short while on the emulator clock. LoRAs load only onto one created with ``enableAddons``.
- ``deployedModels``: load a fine-tune onto a deployment (``POST``, no client id; the same model on the same
  deployment again is 400 FAILED_PRECONDITION "already deployed", as Fireworks answers), get, list
  (``filter=model="..."``), delete (unload). DEPLOYING, then DEPLOYED after a short while.
"""

from __future__ import annotations

import datetime as dt

from ftops.emulator import modeltable
from ftops.emulator.dialects.fireworks.wire import (body, check_body, check_id, error, invalid, not_found, page,
                                                    records, rfc3339)
from ftops.emulator.httpio import Request
from ftops.emulator.state import Tx, new_id

BASE_ACCOUNT = "fireworks"
TARGET_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj")  # what a LoRA's peftDetails name
DEPLOY_SHARE = 0.3  # of the job duration: how long a deployment or a deployed model takes to come up
DEPLOYMENT_FIELDS = {  # SDK 1.2.30 DeploymentCreateParams (body)
    "baseModel": "string", "acceleratorCount": "int", "acceleratorType": "string", "activeModelVersion": "string",
    "autoscalingPolicy": "object", "autoTune": "object", "deploymentShape": "string",
    "deploymentTemplate": "string", "description": "string", "directRouteApiKeys": "any",
    "directRouteType": "string", "disableDeploymentSizeValidation": "bool", "displayName": "string",
    "draftModel": "string", "draftTokenCount": "int", "enableAddons": "bool", "enableHotLoad": "bool",
    "enableHotReloadLatestAddon": "bool", "enableMtp": "bool", "enableSessionAffinity": "bool",
    "expireTime": "string", "hotLoadBucketType": "string", "hotLoadBucketUrl": "string",
    "maxContextLength": "int", "maxReplicaCount": "int", "maxWithRevocableReplicaCount": "int",
    "minReplicaCount": "int", "ngramSpeculationLength": "int", "placement": "object", "precision": "string",
    "pricingPlanId": "string", "targetModelVersion": "string"}
DEPLOYED_FIELDS = {"default": "bool", "deployment": "string", "description": "string", "displayName": "string",
                   "model": "string", "public": "bool", "serverless": "bool"}


def _up_after(tx: Tx) -> float:
    return DEPLOY_SHARE * tx.cfg.job_duration


def _date(iso: str | None) -> dict | None:
    if not iso:
        return None
    day = dt.date.fromisoformat(iso)
    return {"year": day.year, "month": day.month, "day": day.day}


# -- models ----------------------------------------------------------------------------------------------------
def _base_view(tx: Tx, name: str) -> dict:
    info = modeltable.table(tx.cfg.api).lookup(name)
    out = {"name": name, "displayName": name.rsplit("/", 1)[-1], "kind": "HF_BASE_MODEL", "state": "READY",
           "status": {"code": "OK", "message": ""}, "contextLength": info.context, "supportsLora": True,
           "tunable": True, "public": True, "createTime": rfc3339(1_700_000_000)}
    date = _date(modeltable.shutdown_date(tx, name))
    if date:
        out["deprecationDate"] = date
    return out


def _tuned_view(tx: Tx, record: dict) -> dict:
    job = tx.data["jobs"].get(record["job_id"]) or {}
    rank = ((job.get("extra") or {}).get("config") or {}).get("loraRank", 8)
    refs = [{"name": d["name"], "deployment": d["deployment"], "state": _deployed_state(tx, d)}
            for d in records(tx)["deployed_models"].values() if d["model"] == record["id"]]
    out = {"name": record["id"], "displayName": record["id"].rsplit("/", 1)[-1], "kind": "HF_PEFT_ADDON",
           "state": "READY", "status": {"code": "OK", "message": ""}, "createTime": rfc3339(record["created"]),
           "fineTuningJob": record["job_id"], "peftDetails": {"baseModel": record["base"], "r": rank,
                                                              "targetModules": list(TARGET_MODULES)},
           "contextLength": modeltable.lookup(tx, record["base"]).context, "deployedModelRefs": refs,
           "supportsLora": False, "tunable": True}
    date = _date(modeltable.shutdown_date(tx, record["id"]))
    if date:
        out["deprecationDate"] = date
    return out


def _model_name(req: Request) -> str:
    return f"accounts/{req.params['acct']}/models/{req.params['id']}"


def find(tx: Tx, name: str) -> dict | None:
    if name in modeltable.table(tx.cfg.api).models:
        return _base_view(tx, name)
    record = tx.data["models"].get(name)
    return _tuned_view(tx, record) if record else None


def retrieve_model(tx: Tx, req: Request) -> dict:
    found = find(tx, _model_name(req))
    if found is None:
        raise not_found("Model", _model_name(req))
    return found


def list_models(tx: Tx, req: Request) -> dict:
    acct = req.params["acct"]
    if acct == BASE_ACCOUNT:
        views = [_base_view(tx, n) for n in sorted(modeltable.table(tx.cfg.api).models)]
    else:
        views = [_tuned_view(tx, r) for n, r in tx.data["models"].items() if n.startswith(f"accounts/{acct}/models/")]
    return page(req, "models", views, filterable=("kind", "state", "displayName"))


def delete_model(tx: Tx, req: Request) -> dict:
    name = _model_name(req)
    if name not in tx.data["models"]:
        if find(tx, name) is not None:
            raise error("PERMISSION_DENIED", f"Model {name!r} is not yours to delete")
        raise not_found("Model", name)
    del tx.data["models"][name]
    deployed = records(tx)["deployed_models"]
    for key in [k for k, d in deployed.items() if d["model"] == name]:
        del deployed[key]  # unloaded with it
    tx.touch()
    return {}


# -- deployments -----------------------------------------------------------------------------------------------
def _deployment_view(tx: Tx, record: dict) -> dict:
    ready = tx.now >= record["created"] + _up_after(tx)
    return {**record["request"], "name": record["name"], "createTime": rfc3339(record["created"]),
            "state": "READY" if ready else "CREATING", "status": {"code": "OK", "message": ""},
            "replicaCount": record["request"].get("minReplicaCount", 1) if ready else 0}


def create_deployment(tx: Tx, req: Request) -> dict:
    data = check_body(body(req), DEPLOYMENT_FIELDS)
    base = data.get("baseModel")
    if not base:
        raise invalid("baseModel is required")
    if not modeltable.table(tx.cfg.api).lookup(base).known:
        raise not_found("Model", base)
    dep_id = check_id(req.arg("deploymentId") or new_id("dep-", 8), "deploymentId")
    name = f"accounts/{req.params['acct']}/deployments/{dep_id}"
    if name in records(tx)["deployments"]:
        raise error("ALREADY_EXISTS", f"Deployment {name!r} already exists")
    record = {"name": name, "created": tx.now, "request": data, "base": base}
    records(tx)["deployments"][name] = record
    tx.touch()
    return _deployment_view(tx, record)


def _deployment(tx: Tx, name: str) -> dict:
    record = records(tx)["deployments"].get(name)
    if record is None:
        raise not_found("Deployment", name)
    return record


def retrieve_deployment(tx: Tx, req: Request) -> dict:
    return _deployment_view(tx, _deployment(tx, f"accounts/{req.params['acct']}/deployments/{req.params['id']}"))


def list_deployments(tx: Tx, req: Request) -> dict:
    prefix = f"accounts/{req.params['acct']}/deployments/"
    return page(req, "deployments", [_deployment_view(tx, r) for n, r in records(tx)["deployments"].items()
                                     if n.startswith(prefix)], filterable=("state", "baseModel"))


def delete_deployment(tx: Tx, req: Request) -> dict:
    record = _deployment(tx, f"accounts/{req.params['acct']}/deployments/{req.params['id']}")
    del records(tx)["deployments"][record["name"]]
    deployed = records(tx)["deployed_models"]
    for key in [k for k, d in deployed.items() if d["deployment"] == record["name"]]:
        del deployed[key]
    tx.touch()
    return {}


# -- deployed models (LoRAs loaded onto a deployment) ------------------------------------------------------------
def _deployed_state(tx: Tx, record: dict) -> str:
    return "DEPLOYED" if tx.now >= record["created"] + _up_after(tx) else "DEPLOYING"


def _deployed_view(tx: Tx, record: dict) -> dict:
    return {**record["request"], "name": record["name"], "model": record["model"],
            "deployment": record["deployment"], "default": record["default"], "serverless": False,
            "createTime": rfc3339(record["created"]), "updateTime": rfc3339(tx.now),
            "state": _deployed_state(tx, record), "status": {"code": "OK", "message": ""}}


def load(tx: Tx, req: Request) -> dict:
    acct = req.params["acct"]
    data = check_body(body(req), DEPLOYED_FIELDS)
    model, target = data.get("model"), data.get("deployment")
    if not model or not target:
        raise invalid("model and deployment are required")
    if data.get("serverless"):
        raise error("FAILED_PRECONDITION", "LoRA models require a dedicated deployment; serverless is not "
                                           "applicable to a LoRA addon")
    record = tx.data["models"].get(model)
    if record is None or not model.startswith(f"accounts/{acct}/models/"):
        raise not_found("Model", model)
    deployment = _deployment(tx, target if target.startswith("accounts/") else
                             f"accounts/{acct}/deployments/{target}")
    if not deployment["request"].get("enableAddons"):
        raise error("FAILED_PRECONDITION", f"Deployment {deployment['name']!r} was not created with addons "
                                           "enabled; a LoRA cannot be loaded onto it")
    if deployment["base"] != record["base"]:
        raise error("FAILED_PRECONDITION", f"Model {model!r} is a LoRA of {record['base']}, but deployment "
                                           f"{deployment['name']!r} serves {deployment['base']}")
    if _deployment_view(tx, deployment)["state"] != "READY":
        raise error("FAILED_PRECONDITION", f"Deployment {deployment['name']!r} is not READY yet")
    deployed = records(tx)["deployed_models"]
    if any(d["model"] == model and d["deployment"] == deployment["name"] for d in deployed.values()):
        raise error("FAILED_PRECONDITION", f"Model {model!r} is already deployed to {deployment['name']!r}")
    first = not any(d["model"] == model for d in deployed.values())
    name = f"accounts/{acct}/deployedModels/{model.rsplit('/', 1)[-1][:40]}-{new_id('', 8)}"
    entry = {"name": name, "model": model, "deployment": deployment["name"], "created": tx.now,
             "default": data.get("default", first), "request": {k: v for k, v in data.items()
                                                                 if k in ("description", "displayName", "public")}}
    deployed[name] = entry
    tx.touch()
    return _deployed_view(tx, entry)


def _deployed(tx: Tx, req: Request) -> dict:
    name = f"accounts/{req.params['acct']}/deployedModels/{req.params['id']}"
    record = records(tx)["deployed_models"].get(name)
    if record is None:
        raise not_found("DeployedModel", name)
    return record


def retrieve_deployed(tx: Tx, req: Request) -> dict:
    return _deployed_view(tx, _deployed(tx, req))


def list_deployed(tx: Tx, req: Request) -> dict:
    prefix = f"accounts/{req.params['acct']}/deployedModels/"
    return page(req, "deployedModels", [_deployed_view(tx, r) for n, r in records(tx)["deployed_models"].items()
                                        if n.startswith(prefix)], filterable=("model", "deployment", "state"))


def unload(tx: Tx, req: Request) -> dict:
    record = _deployed(tx, req)
    del records(tx)["deployed_models"][record["name"]]
    tx.touch()
    return {}


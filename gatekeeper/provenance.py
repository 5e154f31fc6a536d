"""Who ran gatekeeper and where: the actor and the CI run, from named CI variables only.

Only the variables listed here are read (never the whole environment), and every value passes
through ``redact`` and a length cap, so a secret in the environment cannot reach a report or
the audit log through this module.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Mapping
from typing import Any

from gatekeeper.redaction import redact

_MAX = 200


def _get(env: Mapping[str, str], *names: str) -> str:
    for name in names:
        value = env.get(name, "")
        if value:
            return redact(value.strip())[:_MAX]
    return ""


def ci_info(env: Mapping[str, str] | None = None) -> dict[str, str] | None:
    """The CI run this process belongs to: ``{provider, run_id, run_url, job, workflow, ref}`` and what the CI
    also names (``run_attempt``, ``event``, ``job_url``, ``repository``), or None locally."""
    env = os.environ if env is None else env
    if env.get("GITHUB_ACTIONS") == "true":
        server = _get(env, "GITHUB_SERVER_URL") or "https://github.com"
        repo, run = _get(env, "GITHUB_REPOSITORY"), _get(env, "GITHUB_RUN_ID")
        info = {
            "provider": "github-actions",
            "run_id": run,
            "run_attempt": _get(env, "GITHUB_RUN_ATTEMPT"),
            "run_url": f"{server}/{repo}/actions/runs/{run}" if repo and run else "",
            "job": _get(env, "GITHUB_JOB"),
            "workflow": _get(env, "GITHUB_WORKFLOW"),
            "ref": _get(env, "GITHUB_REF"),
            "event": _get(env, "GITHUB_EVENT_NAME"),
            "repository": repo,
        }
    elif env.get("GITLAB_CI") == "true":
        info = {
            "provider": "gitlab-ci",
            "run_id": _get(env, "CI_PIPELINE_ID"),
            "run_url": _get(env, "CI_PIPELINE_URL"),
            "job": _get(env, "CI_JOB_NAME"),
            "job_url": _get(env, "CI_JOB_URL"),
            "workflow": _get(env, "CI_PIPELINE_SOURCE"),
            "ref": _get(env, "CI_COMMIT_REF_NAME"),
            "repository": _get(env, "CI_PROJECT_PATH"),
        }
    elif env.get("JENKINS_URL"):
        info = {
            "provider": "jenkins",
            "run_id": _get(env, "BUILD_NUMBER", "BUILD_ID"),
            "run_url": _get(env, "BUILD_URL"),
            "job": _get(env, "JOB_NAME"),
            "workflow": "",
            "ref": _get(env, "GIT_BRANCH", "BRANCH_NAME"),
        }
    elif env.get("CIRCLECI") == "true":
        info = {
            "provider": "circleci",
            "run_id": _get(env, "CIRCLE_WORKFLOW_ID", "CIRCLE_BUILD_NUM"),
            "run_url": _get(env, "CIRCLE_BUILD_URL"),
            "job": _get(env, "CIRCLE_JOB"),
            "workflow": "",
            "ref": _get(env, "CIRCLE_BRANCH", "CIRCLE_TAG"),
        }
    elif env.get("TF_BUILD") == "True" or env.get("TF_BUILD") == "true":
        info = {
            "provider": "azure-pipelines",
            "run_id": _get(env, "BUILD_BUILDID"),
            "run_url": "",
            "job": _get(env, "SYSTEM_JOBDISPLAYNAME", "AGENT_JOBNAME"),
            "workflow": _get(env, "BUILD_DEFINITIONNAME"),
            "ref": _get(env, "BUILD_SOURCEBRANCH"),
        }
    elif env.get("BUILDKITE") == "true":
        info = {
            "provider": "buildkite",
            "run_id": _get(env, "BUILDKITE_BUILD_ID"),
            "run_url": _get(env, "BUILDKITE_BUILD_URL"),
            "job": _get(env, "BUILDKITE_LABEL"),
            "workflow": _get(env, "BUILDKITE_PIPELINE_SLUG"),
            "ref": _get(env, "BUILDKITE_BRANCH"),
        }
    elif env.get("CI", "").lower() in ("true", "1", "yes") or env.get("GATEKEEPER_CI_RUN_ID"):
        info = {
            "provider": _get(env, "CI_NAME") or "ci",
            "run_id": _get(env, "GATEKEEPER_CI_RUN_ID", "CI_RUN_ID", "CI_BUILD_ID", "BUILD_ID", "BUILD_NUMBER"),
            "run_url": _get(env, "GATEKEEPER_CI_RUN_URL", "CI_BUILD_URL", "BUILD_URL"),
            "job": _get(env, "CI_JOB_NAME", "JOB_NAME"),
            "workflow": "",
            "ref": _get(env, "CI_BRANCH", "BRANCH_NAME"),
        }
    else:
        return None
    for override in ("GATEKEEPER_CI_RUN_ID", "GATEKEEPER_CI_RUN_URL"):
        if env.get(override):
            info["run_id" if override.endswith("ID") else "run_url"] = _get(env, override)
    return info


def actor_info(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """Who started the run: ``{name, source}``: ``GATEKEEPER_ACTOR`` if set, else the CI's user, else the local login."""
    env = os.environ if env is None else env
    ci = ci_info(env)
    provider = ci["provider"] if ci else ""
    named = {
        "github-actions": ("GITHUB_TRIGGERING_ACTOR", "GITHUB_ACTOR"),
        "gitlab-ci": ("GITLAB_USER_LOGIN", "GITLAB_USER_NAME"),
        "jenkins": ("BUILD_USER_ID", "BUILD_USER"),
        "circleci": ("CIRCLE_USERNAME",),
        "azure-pipelines": ("BUILD_REQUESTEDFOREMAIL", "BUILD_REQUESTEDFOR"),
        "buildkite": ("BUILDKITE_BUILD_CREATOR_EMAIL", "BUILDKITE_BUILD_CREATOR"),
    }.get(provider, ())
    explicit = _get(env, "GATEKEEPER_ACTOR")
    if explicit:
        return {"name": explicit, "source": "GATEKEEPER_ACTOR"}
    name = _get(env, *named) if named else ""
    if name:
        return {"name": name, "source": provider}
    try:
        login = getpass.getuser()
    except (OSError, KeyError, ImportError):  # no passwd entry (containers) and no LOGNAME/USER
        login = f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"
    return {"name": redact(login)[:_MAX], "source": provider or "local"}


def run_context(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """``{"actor": {...}, "ci": {...} | None}`` for the result and the audit record."""
    return {"actor": actor_info(env), "ci": ci_info(env)}

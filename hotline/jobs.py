"""One registry of background jobs: each declared once here, queued by object, run by name.

Domain code writes `outbox.add_job(job_id, jobs.send_ticket_sms, ticket.id, …)`: it holds
the declaration below, never a dotted string, so a misspelt job is an AttributeError the
first time the line runs (in its test), and arguments that do not fit the declared
signature are a TypeError in the caller's transaction, not a row set aside later.

Why the declarations live here and the bodies in workers/. A job body is an edge (it
opens the unit of work, like a webhook) and calls down into the domain:
`return_to_queue` runs `staff.outcomes.return_to_queue`, which is also the module that
queues it. If the job object were the body itself, `staff.outcomes` would import its
own caller (a cycle), and hotline/ would import workers/ (tests/test_architecture.py
forbids both). So the dependency is turned around: this module depends on nothing in
the hotline, declares each job's *name, queue and signature* as a stub function, and
workers/ binds the body (`@jobs.send_ticket_sms.implementation`). The relay needs only
the declaration (it checks the arguments and hands RQ the name); the worker, which has
imported workers/, runs the name through the registry (workers.main.RegisteredJob).

Checks, so a name never resolves to nothing:
- the worker will not start while a declared job has no body, or a body whose
  signature differs from its declaration (`registry.check()`, also `hotline jobs check`
  and tests/test_jobs.py);
- the relay sets aside an outbox row whose `func` names no job (hotline.outbox);
- declaring two jobs under one name fails at import.

Names are plain words without a dot, so they can never be mistaken for an import path:
RQ jobs put straight into a queue with a function (tests, an operator) still run by
their dotted path. Rows written before this registry hold dotted paths
(`workers.sms.send_sms`); `FORMER_NAMES` maps each to its job, so they run as before.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any


class JobRegistryError(Exception):
    """A declared job without a body, or a body that does not fit its declaration."""


def _shape(signature: inspect.Signature) -> list[tuple[str, Any, Any]]:
    """What a call must agree on: names, kinds and defaults (annotations are only text here)."""
    return [(p.name, p.kind, p.default) for p in signature.parameters.values()]


def _plain(signature: inspect.Signature) -> str:
    """`(ticket_id, key='hello')`: the shape, for a message."""
    empty = inspect.Parameter.empty
    parameters = [p.replace(annotation=empty) for p in signature.parameters.values()]
    return str(signature.replace(parameters=parameters, return_annotation=empty))


class JobSpec:
    """A declared job: its stable name (the outbox's `func`, RQ's function name), its queue,
    its signature, and the body workers/ bound to it. Not callable: queue it with add_job."""

    def __init__(self, declaration: Callable[..., Any], queue: str):
        self.name = declaration.__name__
        self.queue = queue
        self.signature = inspect.signature(declaration)
        self.doc = inspect.getdoc(declaration) or ""
        self.body: Callable[..., Any] | None = None

    def __repr__(self) -> str:
        return f"<job {self.name} on {self.queue}>"

    def implementation(self, body: Callable[..., Any]) -> Callable[..., Any]:
        """Decorator for the function in workers/ that runs this job; returns it unchanged."""
        if _shape(inspect.signature(body)) != _shape(self.signature):
            raise JobRegistryError(
                f"job {self.name}: {body.__module__}.{body.__qualname__}{_plain(inspect.signature(body))} "
                f"does not fit its declaration {self.name}{_plain(self.signature)}"
            )
        if self.body is not None and self.body is not body:
            raise JobRegistryError(
                f"job {self.name} already runs {self.body.__module__}.{self.body.__qualname__}"
            )
        self.body = body
        return body

    def check_arguments(self, args: tuple[Any, ...] | list[Any]) -> None:
        """TypeError when `args` do not fit the declared signature."""
        self.signature.bind(*args)


class JobRegistry:
    """Jobs by name. One for the hotline (`registry` below); tests make their own to break."""

    def __init__(self) -> None:
        self.jobs: dict[str, JobSpec] = {}
        self.former_names: dict[str, JobSpec] = {}

    def job(self, queue: str = "default") -> Callable[[Callable[..., Any]], JobSpec]:
        """Declare the job the decorated stub describes (its name, parameters and docstring)."""

        def declare(stub: Callable[..., Any]) -> JobSpec:
            spec = JobSpec(stub, queue)
            if "." in spec.name or spec.name in self.jobs:
                raise JobRegistryError(f"job name {spec.name!r} is taken or not a plain word")
            self.jobs[spec.name] = spec
            return spec

        return declare

    def find(self, name: str | None) -> JobSpec | None:
        """The job a name (or a former dotted name) stands for; None when it stands for none."""
        if not name:
            return None
        return self.jobs.get(name) or self.former_names.get(name)

    def problems(self) -> list[str]:
        found = [
            f"job {spec.name} has no implementation (bind one in workers/ with "
            f"@jobs.{spec.name}.implementation)"
            for spec in self.jobs.values() if spec.body is None
        ]
        found += [
            f"former name {old} maps to {spec.name}, which is not a registered job"
            for old, spec in self.former_names.items() if self.jobs.get(spec.name) is not spec
        ]
        return found

    def check(self) -> None:
        """Raise JobRegistryError naming every job that would resolve to nothing."""
        found = self.problems()
        if found:
            raise JobRegistryError("; ".join(found))


registry = JobRegistry()
job = registry.job
find = registry.find


# --- the hotline's jobs -----------------------------------------------------------------
# Each takes ids, not objects, and is idempotent: a second run changes nothing.
# Bodies: workers/jobs.py, workers/sms.py, workers/staff_jobs.py, workers/asr.py.

@job()
def send_request_confirmation(ticket_id: int) -> str:
    """Tell the resident their request was received and give them its code."""


@job()
def send_outbound_sms(outbound_id: int) -> str:
    """Send one row of the SMS outbox (replies, notices); a provider hiccup raises, RQ retries."""


@job()
def send_ticket_sms(ticket_id: int, template: str, key: str, values: dict[str, str] | None = None) -> str:
    """Text the resident about their request (outcomes, visits); `values` fill placeholders
    besides `{code}` (a visit's date); `key` makes it once per key."""


@job()
def return_to_queue(ticket_id: int, attempt: int) -> bool:
    """A no-answer retry comes due: the request shows in the queue again (once per attempt)."""


@job()
def visit_reminder(visit_id: int) -> str:
    """The day-before SMS, unless the request was closed or the visit rebooked since."""


@job()
def notify_volunteer(visit_id: int) -> str:
    """Text the volunteer the booked visit: who, where, when."""


@job()
def place_callback(ticket_id: int, staff_id: int, key: str) -> str:
    """Ring the staff member's phone, then connect the resident with the hotline's number."""


@job(queue="asr")
def transcribe_voice_message(voice_message_id: int) -> str:
    """Download, decode and transcribe one voice message (queue: ASR_QUEUE, "asr")."""


@job()
def apply_retention(night: str) -> dict:
    """The nightly retention pass (hotline.retention) for `night` (a local date), then the
    next night's row; once per night by its job id."""


@job()
def nightly_backup(night: str) -> str:
    """The nightly backup (hotline.backup) into BACKUP_DIR, keeping the last BACKUP_KEEP,
    then the next night's row."""


@job()
def store_prompt_recording(recording_id: int) -> str:
    """Fetch a kept prompt take (from Twilio, or the uploaded file), convert it to 8 kHz mono
    and make it the prompt callers hear (hotline.prompt_recordings)."""


#: The jobs about a request's rows, by the kind of row their first argument is: the training
#: wipe and `hotline demo` find a request's jobs by these. Jobs about no request are listed
#: too, so tests/test_training_reset.py can keep the two covering every job declared here.
ABOUT_REQUESTS = {
    "send_request_confirmation": "ticket",
    "send_ticket_sms": "ticket",
    "return_to_queue": "ticket",
    "place_callback": "ticket",
    "send_outbound_sms": "sms_out",
    "visit_reminder": "visit",
    "notify_volunteer": "visit",
    "transcribe_voice_message": "voice_message",
}
ABOUT_NO_REQUEST = frozenset({"apply_retention", "nightly_backup", "store_prompt_recording"})


#: The dotted paths rows (and RQ jobs) written before this registry carry in `func`.
#: `workers.staff_jobs.schedule_at` rows are rewritten by migration 0011 (outbox.run_at).
registry.former_names.update({
    "workers.jobs.send_request_confirmation": send_request_confirmation,
    "workers.sms.send_sms": send_outbound_sms,
    "workers.staff_jobs.send_sms": send_ticket_sms,
    "workers.staff_jobs.return_to_queue": return_to_queue,
    "workers.staff_jobs.visit_reminder": visit_reminder,
    "workers.staff_jobs.notify_volunteer": notify_volunteer,
    "workers.staff_jobs.place_callback": place_callback,
    "workers.asr.transcribe_voice_message": transcribe_voice_message,
})

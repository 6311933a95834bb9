"""The house's rules, read from the code with Python's ast (module-level and function-level
imports alike, `if TYPE_CHECKING:` ones too):

- no import cycle inside hotline/ (workers/ counted too, so a loop through a job shows);
- only the edges read Flask's request or build TwiML; the voice menu (hotline/ivr/)
  imports neither flask nor twilio;
- hotline/ does not import workers/ (workers import hotline);
- who commits: only the unit-of-work helper and the few listed functions call `commit()`,
  and only the edges open units of work (domain functions flush and return values).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("hotline", "workers")

#: Modules that may read `flask.request` or build TwiML (`twilio.twiml`): the edges.
EDGES = {
    "hotline/voice/": "the voice webhooks and the TwiML renderer",
    "hotline/api/": "the JSON API",
    "hotline/sms/views.py": "the SMS webhooks",
    "hotline/staff/views.py": "the dashboard's pages",
    "hotline/staff/prompts_views.py": "the dashboard's Prompts page",
    "hotline/staff/admin_views.py": "the admin's pages for accounts, teams and villages",
    "hotline/staff/simulator_views.py": "the practice phone: plays Twilio's side for the browser",
    "hotline/twilio_auth.py": "checks X-Twilio-Signature on the incoming request",
    "hotline/health.py": "the health endpoint",
    "hotline/home.py": "the site's front door: `/` and the favicon",
    "hotline/metrics.py": "the metrics endpoint",
    "hotline/recordings.py": "the recording status webhook",
    "hotline/__init__.py": "the app factory",
    "hotline/cli.py": "the `hotline` command",
    "hotline/commands.py": "CLI commands",
    "hotline/sms/gateway_auth.py": "checks the SMS gateway's signature headers on the incoming request",
    "hotline/staff/headers.py": "the security headers added to every response (an after_request hook)",
    "hotline/staff/__init__.py": "Flask-Babel's locale selector reads the request's session",
    "hotline/staff/privacy_views.py": "the dashboard's page on residents' data (export button)",
    "hotline/staff/trainer_views.py": "the trainer's page: rehearsals' progress, the wipe button",
}

#: Modules of hotline/ that may import workers/.
WORKER_STARTERS = {
    "hotline/commands.py": "`hotline worker` builds the app, then starts the worker process (workers.main); "
                           "`hotline jobs check` loads the job bodies to check the registry",
}


def module_files(root: Path) -> dict[str, Path]:
    """`hotline.ivr.engine` → its file, for every package under `root` in PACKAGES."""
    found = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def imported_names(module: str, path: Path) -> list[tuple[str, int]]:
    """Every dotted name the file imports (`from a.b import c` gives `a.b.c`), with its line."""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parent = package[: len(package) - node.level + 1]
                base = ".".join(parent + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            names.extend((f"{base}.{alias.name}", node.lineno) for alias in node.names)
    return names


def import_graph(root: Path) -> dict[str, set[str]]:
    """module → the modules of the tree it imports (a name inside a module counts as the module)."""
    modules = module_files(root)
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        targets = set()
        for name, _ in imported_names(module, path):
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name and name != module:
                targets.add(name)
        graph[module] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in sorted(graph[module]):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def allowed(path: Path, allow: dict[str, str]) -> bool:
    where = relative(path)
    return any(where == rule or (rule.endswith("/") and where.startswith(rule)) for rule in allow)


def imports_matching(predicate) -> list[str]:
    hits = []
    for module, path in module_files(ROOT).items():
        for name, line in imported_names(module, path):
            if predicate(name):
                hits.append((path, f"{relative(path)}:{line} imports {name}"))
    return hits


def test_no_import_cycle_inside_hotline():
    found = [cycle for cycle in cycles(import_graph(ROOT)) if any(m.startswith("hotline") for m in cycle)]
    assert found == []


def test_the_cycle_finder_finds_a_cycle(tmp_path):
    """The rule above can fail: a loop through a function-level import (as workers.asr once closed
    between speech_models and the transcription pipeline) is found."""
    for package in PACKAGES:
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "hotline" / "models.py").write_text("def preload():\n    import workers.asr\n")
    (tmp_path / "workers" / "asr.py").write_text("from hotline.pipeline import run\n")
    (tmp_path / "hotline" / "pipeline.py").write_text("from . import models\n\ndef run(): ...\n")
    (tmp_path / "hotline" / "leaf.py").write_text("from .models import preload\n")
    assert cycles(import_graph(tmp_path)) == [["hotline.models", "hotline.pipeline", "workers.asr"]]


def test_only_edges_read_the_request_or_build_twiml():
    def edge_only(name: str) -> bool:
        return name == "flask.request" or name.startswith("twilio.twiml")

    wrong = [hit for path, hit in imports_matching(edge_only) if not allowed(path, EDGES)]
    assert wrong == []


def test_the_voice_menu_imports_neither_flask_nor_twilio():
    def web(name: str) -> bool:
        return name.split(".")[0] in ("flask", "twilio")

    cli = {"hotline/ivr/commands.py": "`hotline flows|prompts|call` (click and flask.cli)"}
    wrong = [hit for path, hit in imports_matching(web)
             if relative(path).startswith("hotline/ivr/") and not allowed(path, cli)]
    assert wrong == []


def test_hotline_does_not_import_workers():
    wrong = [hit for path, hit in imports_matching(lambda name: name.split(".")[0] == "workers")
             if relative(path).startswith("hotline/") and not allowed(path, WORKER_STARTERS)]
    assert wrong == []


#: Edges the issue names that another change adds.
NOT_WRITTEN_YET = {"hotline/metrics.py"}


def test_every_allowed_edge_exists():
    """An allow-list entry for a file that is gone (or renamed) would silently allow its successor."""
    missing = [rule for rule in {**EDGES, **WORKER_STARTERS}
               if not (ROOT / rule).exists() and rule not in NOT_WRITTEN_YET]
    assert missing == []


# --- who commits ------------------------------------------------------------------------

#: Where `.commit()` may be called ("path" for a whole module, "path:function" for one function).
COMMITTERS = {
    "hotline/unit_of_work.py": "the helper: every edge's unit of work commits here, once",
    "hotline/ivr/steps.py:_answer_once": "a voice step's storage is the voice webhook's unit of work: "
    "its write and commit are fused into as few statements as the hot path allows",
    "hotline/outbox.py:relay_pending": "a relay pass is the relay's edge; it records what Redis took "
    "even when the pass stops half-way (commit in finally: Redis cannot roll back)",
    "hotline/outbox.py:reconcile": "a reconcile pass, the relay's edge, for the same reason",
}

#: Modules that open units of work (`unit_of_work`, `in_unit_of_work`, `commit_once`): the edges.
UNIT_OPENERS = {
    "hotline/voice/": "the voice webhooks (call status; a step commits through step storage)",
    "hotline/recordings.py": "the recording status webhook",
    "hotline/sms/views.py": "the SMS webhooks: one unit per SMS, and the bare-message fallback",
    "hotline/sms/cli.py": "`hotline sms`",
    "hotline/staff/views.py": "the dashboard's form posts",
    "hotline/staff/prompts_views.py": "the Prompts page's form posts",
    "hotline/staff/simulator_views.py": "the practice phone's texts, recordings and hang-ups "
                                        "(as the webhooks)",
    "hotline/api/": "the JSON API's calls",
    "hotline/staff/cli.py": "`hotline import` and `hotline users …`",
    "hotline/commands.py": "`hotline outbox retry`, `hotline demo`",
    "hotline/transcription/cli.py": "`hotline transcribe --pending`",
    "hotline/staff/privacy_views.py": "the residents' data export button (audited)",
    "hotline/privacy_cli.py": "`hotline residents export|erase` and `hotline retention`",
    "hotline/training_cli.py": "`hotline training reset`",
    "hotline/nightly.py": "the relay's start schedules tonight's retention pass and backup",
    "workers/": "RQ jobs (the transcription job opens several units: workers/asr.py says why)",
}
UNIT_HELPERS = {f"hotline.unit_of_work.{name}" for name in ("unit_of_work", "in_unit_of_work", "commit_once")}


def commit_calls(root: Path) -> list[tuple[str, str]]:
    """(`path:function`, `path:line`) of every `<anything>.commit()` call under root's packages;
    `function` is the module-level function it is in (a helper nested in it counts as it)."""

    def visit(node: ast.AST, where: str, function: str) -> Iterator[tuple[str, str]]:
        for child in ast.iter_child_nodes(node):
            if (isinstance(child, ast.Call) and isinstance(child.func, ast.Attribute)
                    and child.func.attr == "commit"):
                yield f"{where}:{function}", f"{where}:{child.lineno}"
            inner = child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else ""
            yield from visit(child, where, function or inner)

    return [found for path in module_files(root).values()
            for found in visit(ast.parse(path.read_text(encoding="utf-8"), str(path)),
                               path.relative_to(root).as_posix(), "")]


def committing_outside(root: Path, allow: dict[str, str]) -> list[str]:
    return [line for function, line in commit_calls(root)
            if function not in allow and function.partition(":")[0] not in allow]


def test_only_the_unit_of_work_and_the_listed_edges_commit():
    assert committing_outside(ROOT, COMMITTERS) == []


def test_the_commit_rule_finds_a_commit_in_a_domain_function(tmp_path):
    """The rule above can fail: a commit inside a domain function (even nested in a helper of it)
    is found, and one in an allowed function is not."""
    for package in PACKAGES:
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "hotline" / "claims.py").write_text(
        "from .extensions import db\n\n"
        "def claim(ticket):\n    def later():\n        db.session.commit()\n    later()\n\n"
        "def relay():\n    db.session.commit()\n")
    assert committing_outside(tmp_path, {"hotline/claims.py:relay": "an edge"}) == ["hotline/claims.py:5"]


def test_only_edges_open_units_of_work():
    wrong = [hit for path, hit in imports_matching(lambda name: name in UNIT_HELPERS)
             if not allowed(path, UNIT_OPENERS)]
    assert wrong == []


def test_every_listed_committer_and_opener_exists():
    """A rule for a file or function that is gone would silently allow its successor."""
    functions = {function for function, _ in commit_calls(ROOT)}
    missing = [rule for rule in COMMITTERS if ":" in rule and rule not in functions]
    missing += [rule for rule in {**COMMITTERS, **UNIT_OPENERS}
                if not (ROOT / rule.partition(":")[0]).exists()]
    assert missing == []

"""The README and docs/design.md against the code they describe: every command's options in both
command-line references (and none the code no longer has), every policy key with its default in
the README's tables and design.md's policy block, and every repository path, module and section
they (and the package's docstrings) cite present in the repository."""

from __future__ import annotations

import ast
import importlib
import io
import re
import tokenize
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import typer

from gatekeeper import tomlio
from gatekeeper.cli import app
from gatekeeper.options import COMMON_OPTIONS, Option
from gatekeeper.policy.schema import CORE_SCHEMA

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
DESIGN = (ROOT / "docs" / "design.md").read_text(encoding="utf-8")


def _section(text: str, heading: str) -> str:
    """The text under a markdown heading, up to the next heading of the same or a higher level (a
    ``# comment`` line in a fenced code block is no heading)."""
    unfenced = re.sub(r"^```.*?^```", lambda m: re.sub(r"[^\n]", " ", m.group(0)), text, flags=re.M | re.S)
    match = re.search(rf"^(#+) {re.escape(heading)}\n", unfenced, re.M)
    assert match, f"no section {heading!r}"
    end = re.compile(rf"^#{{1,{len(match.group(1))}}} ", re.M).search(unfenced, match.end())
    return text[match.end() : end.start() if end else len(text)]


def _first_block(text: str) -> str:
    """The first fenced code block of ``text``."""
    match = re.search(r"^```[a-z]*\n(.*?)^```", text, re.M | re.S)
    assert match
    return match.group(1)


def _commands() -> Iterator[tuple[str, set[str]]]:
    """Every command as its words ("audit verify", "" for the top level) and its long options."""

    def walk(command: Any, words: list[str]) -> Iterator[tuple[str, set[str]]]:
        options = {o for p in command.params for o in (*p.opts, *p.secondary_opts) if o.startswith("--")}
        if options or not hasattr(command, "commands"):
            yield " ".join(words), options
        for name, sub in getattr(command, "commands", {}).items():
            yield from walk(sub, [*words, name])

    yield from walk(typer.main.get_command(app), [])


def _usage_segments(block: str) -> dict[str, set[str]]:
    """A command-line reference block read as {command words: the options it shows}: one entry
    per ``gatekeeper ...`` line (continuation lines included), alternatives split at `` | ``."""
    entries: list[str] = []
    for line in block.splitlines():
        if line.startswith("gatekeeper "):
            entries.append(line.removeprefix("gatekeeper ").split("#")[0])
        elif line.startswith(" ") and entries:
            entries[-1] += " " + line.strip()
    shown: dict[str, set[str]] = {}
    for entry in entries:
        for segment in entry.split(" | "):
            words = list(re.findall(r"^(?:[a-z][a-z-]*(?: |$))*", segment.strip())[0].split())
            options = set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", segment))
            shown.setdefault(" ".join(words), set()).update(options)
    return shown


def _shown_for(command: str, shown: Mapping[str, set[str]], commands: set[str]) -> set[str] | None:
    """The options a reference shows for ``command``: its own segments and those of forms of it
    that are no command of their own (``bundle verify`` is ``bundle``'s)."""
    found = [
        options
        for words, options in shown.items()
        if (words + " ").startswith(command + " ") and (words == command or words not in commands)
    ]
    return set().union(*found) if found else None


@pytest.mark.parametrize("doc", ["README.md", "docs/design.md"])
def test_the_command_line_reference_shows_every_option_of_every_command(doc: str) -> None:
    text = README if doc == "README.md" else DESIGN
    block = _first_block(_section(text, "Command line"))
    shown = _usage_segments(block)
    commands = dict(_commands())
    problems = []
    for command, options in commands.items():
        listed = _shown_for(command, shown, set(commands))
        if listed is None:
            problems.append(f"{command or 'gatekeeper'}: not in the reference")
            continue
        top = command == ""
        expected = options | ({"--help"} if top else set())
        if missing := expected - listed:
            problems.append(f"{command or 'gatekeeper'}: missing {sorted(missing)}")
        if extra := listed - expected:
            problems.append(f"{command or 'gatekeeper'}: shows {sorted(extra)}, which it does not take")
    assert not problems, f"{doc}: " + "; ".join(problems)


def _builtin_options() -> dict[str, Mapping[str, Option]]:
    """Each built-in checker's own options, as its class declares them."""
    pyproject = tomlio.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    out = {}
    for name, target in pyproject["project"]["entry-points"]["gatekeeper.checkers"].items():
        module, _, attr = target.partition(":")
        out[name] = getattr(importlib.import_module(module), attr).options
    return out


def _table(text: str) -> dict[str, str]:
    """The first ``| key | default | meaning |`` table of ``text``: {key: default cell}."""
    start = text.index("| key | default | meaning |")
    rows: dict[str, str] = {}
    for line in text[start:].splitlines()[2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        for key in re.findall(r"`([\w.]+)`", cells[0]):
            rows[key] = cells[1]
    return rows


def _cell_value(cell: str) -> Any:
    """A README default cell as the value it shows: TOML in backticks, or a bare list of names."""
    if cell.startswith("`") and cell.endswith("`"):
        return tomlio.loads(f"v = {cell.strip('`')}")["v"]
    return [name.strip() for name in cell.split(",")]


def test_the_readme_policy_tables_list_every_key_with_its_default() -> None:
    tables: dict[str, dict[str, str]] = {"": _table(_section(README, "Core sections"))}
    shared: dict[str, set[str]] = {}  # the keys each table names in its text
    for name in _builtin_options():
        paragraph = re.search(rf"^`\[checks\.{name}\]`", README, re.M)
        heading = re.search(rf"^### [^\n]*\(`\[checks\.{name}\]`\)$", README, re.M)
        where = paragraph or heading
        assert where, f"README: no section for [checks.{name}]"
        tables[name] = _table(README[where.start() :])
        table_text = README[where.start() :].split("| key | default | meaning |", 1)[1].split("\n\n", 1)[0]
        shared[name] = set(re.findall(r"`(\w+)`", table_text))
    problems = []
    for section, options in CORE_SCHEMA.items():
        for key, option in options.items():
            cell = tables[""].get(f"{section}.{key}")
            if cell is None:
                problems.append(f"{section}.{key}: not in the core table")
            elif _cell_value(cell) != option.default:
                problems.append(f"{section}.{key}: README says {cell}, the default is {option.default!r}")
    for name, options in _builtin_options().items():
        for key, option in options.items():
            if key in COMMON_OPTIONS:
                continue  # every section's keys: one paragraph says them (lint, types, secrets: off)
            cell = tables[name].get(key)
            if cell is None and key in shared.get(name, set()) and key in tables["dependencies"]:
                cell = tables["dependencies"][key]  # "groups, extras, ... as for dependencies"
            if cell is None:
                problems.append(f"checks.{name}.{key}: not in its table")
            elif _cell_value(cell) != option.default:
                problems.append(f"checks.{name}.{key}: README says {cell}, the default is {option.default!r}")
        for key in set(tables[name]) - set(options):
            problems.append(f"checks.{name}.{key}: in the README's table, not a key of the check")
    assert not problems, "; ".join(problems)


def test_design_policy_block_is_the_schema_with_its_defaults() -> None:
    block = tomlio.loads(_first_block(_section(DESIGN, "Policy (TOML)")))
    problems = []
    expected: dict[str, Mapping[str, Option]] = dict(CORE_SCHEMA)
    written: dict[str, Mapping[str, Any]] = {name: block.get(name, {}) for name in CORE_SCHEMA}
    for name, options in _builtin_options().items():
        expected[f"checks.{name}"] = options
        written[f"checks.{name}"] = block.get("checks", {}).get(name, {})
    for section, options in expected.items():
        for key, option in options.items():
            if key not in written[section]:
                problems.append(f"{section}.{key}: missing")
            elif written[section][key] != option.default:
                problems.append(f"{section}.{key} = {written[section][key]!r}, the default is {option.default!r}")
        for key in set(written[section]) - set(options):
            problems.append(f"{section}.{key}: not a policy key")
    assert not problems, "docs/design.md: " + "; ".join(problems)


def test_design_policy_block_is_a_policy_that_validates(cli: Any, tmp_path: Path) -> None:
    """The block is also one a reader may copy: ``policy validate`` takes it as it stands (a key shown
    with a value the code refuses, ``waivers_file = ""`` for "none", would fail the copy)."""
    (tmp_path / "gatekeeper.toml").write_text(_first_block(_section(DESIGN, "Policy (TOML)")), encoding="utf-8")
    done = cli(["policy", "validate", "gatekeeper.toml"], tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


def test_both_layouts_name_every_top_level_entry_of_the_repository() -> None:
    """The README's Development block and design.md's Layout block name each top-level file and folder
    git tracks (a folder as ``name/``, or a file in it as ``.ci/run``)."""
    import subprocess

    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    tops = {path.split("/", 1)[0] + ("/" if "/" in path else "") for path in tracked} - {".gitignore"}
    problems = []
    for name, block in (
        ("README.md's Development", _first_block(_section(README, "Development"))),
        ("design.md's Layout", _first_block(_section(DESIGN, "Layout"))),
    ):
        shown = set(re.findall(r"(?<![\w./-])(\.?[\w.-]+/?)", block))
        missing = [top for top in sorted(tops) if not any(s.startswith(top) for s in shown)]
        problems += [f"{name} does not name {top}" for top in missing]
    assert not problems, "; ".join(problems)


#: paths the documents name that are not files of the repository: where gatekeeper writes
#: (reports, the audit log, the user's data and cache folders) and workflow files for a user's repository
_NOT_IN_REPO = {
    "fixtures/sample-project/gatekeeper-reports",
    "fixtures/sample-project/.gatekeeper/audit.jsonl",
    "gatekeeper/advisory-db",
    "gatekeeper/repos",
    "gatekeeper/v1",
    ".github/workflows/advisory-db.yml",
    ".github/workflows/gate.yml",
    "tests/fixtures",  # an example glob of a project's paths
}
_PATH = re.compile(
    r"(?<![\w./~-])((?:gatekeeper|tests|fixtures|benchmarks|policies|report_templates|action|docs|\.ci|\.github)/[\w./-]*\w)"
)
_MODULE = re.compile(r"(?<![\w./-])(gatekeeper(?:\.[a-z_][a-z0-9_]*)+)")
_FILE_WORDS = {"json", "toml", "sarif", "html", "md", "xml", "pub", "dev", "invalid", "py", "gl", "sha256", "version"}
_DOC_NAME = re.compile(r"(?<![\w./-])([A-Za-z][\w-]*\.md)\b")


def _cited_texts() -> Iterator[tuple[str, str]]:
    yield "README.md", README
    yield "docs/design.md", DESIGN
    for path in ("benchmarks/README.md", "tests/data/README.md"):  # the other documents of the repository
        yield path, (ROOT / path).read_text(encoding="utf-8")
    for path in sorted((ROOT / "policies").glob("*.toml")):  # the shipped presets' comments
        yield path.relative_to(ROOT).as_posix(), path.read_text(encoding="utf-8")
    for path in sorted((ROOT / "gatekeeper").rglob("*.py")):
        yield path.relative_to(ROOT).as_posix(), path.read_text(encoding="utf-8")


def _missing_paths_and_modules(name: str, text: str, not_in_repo: set[str]) -> Iterator[str]:
    """The repository paths and ``gatekeeper.`` modules ``text`` cites that the repository lacks."""
    for path in set(_PATH.findall(text)) - not_in_repo:
        # the sample run the README shows names the sample project's files
        if not any((base / path.rstrip(".")).exists() for base in (ROOT, ROOT / "fixtures" / "sample-project")):
            yield f"{name}: {path}"
    for module in set(_MODULE.findall(text)):
        if module.rsplit(".", 1)[1] in _FILE_WORDS:
            continue  # a file name (gatekeeper.json), not a module
        parts = module.split(".")
        if not any(
            (ROOT.joinpath(*parts[:n]).with_suffix(".py")).is_file() or (ROOT.joinpath(*parts[:n]) / "__init__.py").is_file()
            for n in range(len(parts), 1, -1)
        ):
            yield f"{name}: module {module}"


def test_every_path_module_and_section_cited_exists() -> None:
    problems = []
    documents = {p.name for p in ROOT.rglob("*.md") if ".venv" not in p.parts}
    for name, text in _cited_texts():
        problems += _missing_paths_and_modules(name, text, _NOT_IN_REPO)
        for document in set(_DOC_NAME.findall(text)) - documents - {"gatekeeper.md"}:
            problems.append(f"{name}: {document}")
    for name, text in (("README.md", README), ("docs/design.md", DESIGN)):
        headings = re.findall(r"^#+ (.+)$", text, re.M)
        anchors = {re.sub(r"[^\w\- ]", "", h.replace("`", "").lower()).replace(" ", "-") for h in headings}
        for anchor in set(re.findall(r"\]\(#([^)]+)\)", text)) - anchors:
            problems.append(f"{name}: link to #{anchor}, no such section")
    assert not problems, "cited but not in the repository: " + "; ".join(sorted(problems))


def _prose(source: str) -> str:
    """The comments and docstrings of a Python file: where it cites other files, never the files
    it builds in a temporary folder."""
    parts = [t.string for t in tokenize.generate_tokens(io.StringIO(source).readline) if t.type == tokenize.COMMENT]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            parts.append(ast.get_docstring(node, clean=False) or "")
    return "\n".join(parts)


#: paths the tests' and benchmarks' comments name in the projects they build or measure
_NOT_IN_REPO_OF_TESTS = {
    "docs/x.py",  # a file of the project a security narrowing test builds
    "tests/test_markers.py",  # a benchmarked project's tests, as bench_all.py's usage names them
    "tests/test_tags.py",
}


def test_every_path_and_module_the_tests_scripts_and_action_cite_exists() -> None:
    """A comment or docstring sending the reader to a test file or module that has moved or gone
    (a folder of tests renamed, say) is caught as the documents' citations are above."""
    problems = []
    for folder in ("tests", "benchmarks", ".ci"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            name = path.relative_to(ROOT).as_posix()
            prose = _prose(path.read_text(encoding="utf-8"))
            problems += _missing_paths_and_modules(name, prose, _NOT_IN_REPO | _NOT_IN_REPO_OF_TESTS)
    for path in (ROOT / "action.yml", ROOT / ".ci" / "run", *sorted((ROOT / "action").glob("*.sh"))):
        problems += _missing_paths_and_modules(path.relative_to(ROOT).as_posix(), path.read_text(encoding="utf-8"), _NOT_IN_REPO)
    assert not problems, "cited but not in the repository: " + "; ".join(sorted(problems))


def test_every_narrowing_kind_is_described() -> None:
    from gatekeeper.findings import NARROWING_KINDS

    readme = _section(README, "Narrowing")
    design = _section(DESIGN, "Results (`gatekeeper.json`)")
    for kind in NARROWING_KINDS:
        assert f"`{kind}`" in readme, f"README's Narrowing section does not describe {kind}"
        assert f"`{kind}`" in design, f"design.md's Results section does not list {kind}"


def test_the_design_result_block_names_every_key_of_the_schema() -> None:
    import json

    schema = json.loads((ROOT / "gatekeeper" / "schemas" / "result.schema.json").read_text(encoding="utf-8"))
    block = _first_block(_section(DESIGN, "Results (`gatekeeper.json`)"))
    words = set(re.findall(r"\w+", block))
    objects = [schema, *schema["$defs"].values()]
    for value in schema["properties"].values():
        objects += [v for v in (value, *value.get("anyOf", ())) if "properties" in v]
    missing = {key for obj in objects for key in obj.get("properties", {})} - words
    assert not missing, f"design.md's result block does not name {sorted(missing)}"


def test_the_readme_states_the_repository_policy_it_ships() -> None:
    policy = tomlio.loads((ROOT / "gatekeeper.toml").read_text(encoding="utf-8"))
    stated = re.search(r"coverage of gatekeeper at least (\d+)%", README)
    assert stated, "the README's test command no longer states the repository's coverage minimum"
    assert float(stated.group(1)) == policy["checks"]["coverage"]["min_total"]


@pytest.mark.parametrize(
    ("args", "form"),
    [(["bundle", "verify"], "bundle verify"), (["bundle", "a.json", "b.json"], "bundle")],
)
def test_bundle_usage_messages_show_the_options_the_references_show(args: list[str], form: str, cli: Any, tmp_path: Path) -> None:
    done = cli(args, tmp_path)
    assert done.returncode == 2
    usage = done.stdout + done.stderr
    assert f"usage: gatekeeper {form} " in usage
    reference = _usage_segments(_first_block(_section(README, "Command line")))
    segment = next(line for line in usage.splitlines() if "usage: gatekeeper" in line)
    assert set(re.findall(r"--[a-z][a-z0-9-]*", segment)) == reference[form]


def test_every_command_help_shows_an_example() -> None:
    """The README promises examples in every command's ``--help``."""

    def leaves(command: Any, words: str) -> Iterator[tuple[str, Any]]:
        subs = getattr(command, "commands", None)
        if subs is None:
            yield words, command
        for name, sub in (subs or {}).items():
            yield from leaves(sub, f"{words} {name}".strip())

    missing = [words for words, command in leaves(typer.main.get_command(app), "") if "Example" not in (command.epilog or "")]
    assert not missing, f"no example in the --help of {missing}"


def test_the_readme_describes_verify_attestation_py_as_it_is(capsys: pytest.CaptureFixture[str]) -> None:
    """The standalone verifier's options, and its length, as the Attestations section states them."""
    from gatekeeper import verify_attestation

    assert verify_attestation.main(["--help"]) == 0
    options = set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", capsys.readouterr().out)) - {"--help"}
    pattern = (
        r"`verify_attestation\.py` is\s+`gatekeeper/verify_attestation\.py` \(about (\d+) lines.*?; it takes the same (.*?)\(not"
    )
    takes = re.search(pattern, _section(README, "Attestations"), re.S)
    assert takes, "the Attestations section no longer says which options verify_attestation.py takes"
    assert set(re.findall(r"--[a-z][a-z0-9-]*", takes.group(2))) == options
    lines = len((ROOT / "gatekeeper" / "verify_attestation.py").read_text(encoding="utf-8").splitlines())
    assert abs(lines - int(takes.group(1))) <= lines / 10, f"the script has {lines} lines, the README says about {takes.group(1)}"


def test_the_keys_of_every_check_section_are_stated_with_their_defaults() -> None:
    """The paragraph that stands in for ``enabled``, ``timeout_s`` and ``allow_empty`` in every check's
    table: each key with its default, and which checks are off unless the policy turns them on."""
    paragraph = README[README.index("Every check section also takes") :].split("\n\n", 1)[0]
    for key, option in COMMON_OPTIONS.items():
        stated = re.search(rf"`{key}` \(default `([^`]+)`", paragraph)
        assert stated, f"README: the paragraph on every check section's keys does not give {key}'s default"
        assert _cell_value(f"`{stated.group(1)}`") == option.default, f"README: {key} defaults to {option.default!r}"
    off = {name for name, options in _builtin_options().items() if "enabled" in options and not options["enabled"].default}
    named = re.search(r"`false` for ([\w, ]+?)\)", paragraph)
    assert named and set(re.split(r", | and ", named.group(1))) == off, f"README: the checks off by default are {sorted(off)}"
    design = DESIGN[DESIGN.index("Every check section also takes") :].split("\n\n", 1)[0]
    assert all(f"`{key}`" in design for key in COMMON_OPTIONS), "docs/design.md does not name every check section's keys"


def _example_commands(text: str) -> Iterator[str]:
    """Every ``gatekeeper ...`` command line the text shows: in backticks and in code blocks (a
    ``\\`` continuation joined), synopsis forms with ``[...]`` or ``|`` left to the reference tests."""
    flat = re.sub(r"\\\n\s*", " ", text)
    lines = re.findall(r"`(gatekeeper [^`]+)`", flat)
    for block in re.findall(r"^```[a-z]*\n(.*?)^```", flat, re.M | re.S):
        lines += re.findall(r"(?:^|&& |; |\$ |run: )(gatekeeper [a-z-][^#\n|]*)", block, re.M)
    yield from (line for line in lines if "[" not in line and "|" not in line)


def _option_problems(lines: Iterable[str]) -> list[str]:
    """Each ``gatekeeper ...`` line's options that its command does not take."""
    root = typer.main.get_command(app)
    problems = []
    for line in lines:
        words, command, path = line.split()[1:], root, []
        while words and words[0] in getattr(command, "commands", {}):
            command = command.commands[words[0]]  # type: ignore[attr-defined]  # a click Group
            path.append(words.pop(0))
        takes = {o for p in command.params for o in (*p.opts, *p.secondary_opts)} | {"--help"}
        for word in words:
            if word.startswith("--") and word.split("=")[0] not in takes:
                problems.append(f"`{line.strip()}`: gatekeeper {' '.join(path)} takes no {word.split('=')[0]}")
    return problems


@pytest.mark.parametrize("doc", ["README.md", "docs/design.md"])
def test_every_example_command_uses_options_its_command_takes(doc: str) -> None:
    """An example or a sentence naming ``gatekeeper audit verify --tsa-cert ...`` is held to that
    command's options, so a renamed or moved option cannot linger in the prose."""
    problems = _option_problems(_example_commands(README if doc == "README.md" else DESIGN))
    assert not problems, f"{doc}: " + "; ".join(problems)


def test_every_help_example_uses_options_its_command_takes() -> None:
    """The examples every ``--help`` shows (its epilog's ``gatekeeper ...`` lines) are held to the
    options of the command they run, as the documents' examples are."""

    def epilogs(command: Any) -> Iterator[str]:
        yield getattr(command, "epilog", None) or ""
        for sub in getattr(command, "commands", {}).values():
            yield from epilogs(sub)

    text = "\n".join(epilogs(typer.main.get_command(app)))
    lines = re.findall(r"^\s*(gatekeeper [a-z][^\n#]*)$", text, re.M)
    assert len(lines) > 20, "the help examples were not found"
    problems = _option_problems(line for line in lines if "[" not in line and "|" not in line)
    assert not problems, "--help: " + "; ".join(problems)


def test_check_help_gives_the_exit_codes_the_readme_table_gives() -> None:
    """The README says ``check --help`` lists the exit codes: the same ones as its table."""
    table = _section(README, "Exit codes")
    in_readme = {int(code) for row in re.findall(r"^\| ([\d /]+) \|", table, re.M) for code in row.split("/")}
    epilog = typer.main.get_command(app).commands["check"].epilog or ""  # type: ignore[attr-defined]  # a click Group
    in_help = {int(code) for code in re.findall(r"(?<![\w.])(\d+)(?= [a-zA-Z/])", epilog.split("Exit codes:", 1)[1])}
    assert in_help == in_readme, f"check --help gives exit codes {sorted(in_help)}, the README {sorted(in_readme)}"
    contract = _section(DESIGN, "Exit codes")
    in_design = {int(code) for row in re.findall(r"^\| ([\d /]+) \|", contract, re.M) for code in row.split("/")}
    assert in_design == in_readme, f"docs/design.md gives exit codes {sorted(in_design)}, the README {sorted(in_readme)}"


def _rows(text: str) -> dict[str, str]:
    """The first ``| key | default | meaning |`` table of ``text``: {key: its default and meaning}."""
    rows: dict[str, str] = {}
    for line in text[text.index("| key | default | meaning |") :].splitlines()[2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        for key in re.findall(r"`([\w.]+)`", cells[0]):
            rows[key] = " | ".join(cells[1:])
    return rows


def test_the_readme_policy_tables_give_every_value_a_key_takes() -> None:
    """A key that takes a fixed set of words (``fail_on_severity``, ``project_config``...) names each
    in its own table's row, quoted as the policy writes it."""
    core = _rows(_section(README, "Core sections"))
    keys = [(f"{s}.{k}", o, core) for s, options in CORE_SCHEMA.items() for k, o in options.items()]
    shared = _rows(_section(README, "Dependency vulnerabilities (`[checks.dependencies]`)"))
    for name, options in _builtin_options().items():
        where = re.search(rf"^`\[checks\.{name}\]`", README, re.M) or re.search(
            rf"^### [^\n]*\(`\[checks\.{name}\]`\)$", README, re.M
        )
        assert where, f"README: no section for [checks.{name}]"
        rows = _rows(README[where.start() :])
        keys += [(f"checks.{name}.{k}", o, rows if k in rows else shared) for k, o in options.items()]  # "as for dependencies"
    problems = []
    for key, option, rows in keys:
        row = rows.get(key.rsplit(".", 1)[1] if key.startswith("checks.") else key, "")
        for word in option.choices:
            quoted = re.escape(f'"{word}"')
            if not re.search(rf"`{quoted}`|`\[{quoted}|{quoted}`|`{re.escape(word)}`", row):
                problems.append(f"{key}: {word!r}")
    assert not problems, "README: a policy table does not name these values: " + "; ".join(problems)


def test_the_readme_gives_the_baseline_version_create_writes() -> None:
    """The Baselines section shows the file ``baseline create`` writes, its version included, and
    the secrets section says which version it writes."""
    from gatekeeper.baseline import BASELINE_VERSION

    shown = re.search(r'`\{"version": (\d+), "created_at", "commit", "findings"', _section(README, "Baselines"))
    assert shown and int(shown.group(1)) == BASELINE_VERSION, (
        f"README's Baselines section: the file is version {BASELINE_VERSION}"
    )
    assert f"`baseline create` writes version {BASELINE_VERSION}" in README


def test_the_readme_reports_table_lists_every_format_by_its_file() -> None:
    """The Reports table: one row per format of the registry, under the file name the writer gives it."""
    from gatekeeper.reports.registry import REGISTRY

    rows = re.findall(r"^\| `(gatekeeper\.[\w.-]+)` \|", _section(README, "Reports"), re.M)
    assert rows == [f.file for f in REGISTRY], f"README's Reports table lists {rows}"


def _every_fact_result() -> Any:
    """A result carrying every optional fact a run, a shard, a merge or a new-code run may record, so
    that the record and the predicate built from it hold every key they can."""
    from gatekeeper.findings import CheckResult, GateResult, Status, Verdict

    check = CheckResult(name="security", status=Status.PASS, summary="0 findings", tool_name="bandit", tool_version="1.9")
    waiver = {"id": "W1", "check": "security", "rule": "B101", "reason": "r", "approved_by": "a", "expires": "2027-06-30"}
    extra = {
        "scope": {"complete": True},
        "controls": [{"id": "ORG-1", "status": "pass"}],
        "strict_waivers": False,
        "interrupted": True,
        "clock": {"source": "runner", "authority": "", "note": "n"},
        "actor": {"name": "me", "source": "login"},
        "ci": None,
        "vex": [{"path": "vex.json", "sha256": "0" * 64, "exceptions": 1}],
        "baseline": {"path": "b.json", "commit": "0" * 40},
        "new_code": {"ref": "main", "commit": "0" * 40},
        "shard": {"index": 1, "count": 2},
        "merged": {"parts": 2, "at": "2026-12-07T10:00:00Z"},
    }
    return GateResult(
        verdict=Verdict.PASS,
        checks=(check,),
        tool_version="0",
        started_at="2026-12-07T09:00:00Z",
        finished_at="2026-12-07T09:00:01Z",
        duration_s=1.0,
        repository={"commit": "0" * 40, "branch": "main", "dirty": False, "folder": "."},
        policy={"path": "gatekeeper.toml", "sha256": "0" * 64},
        waivers={"applied": [waiver], "expired": [], "unused": []},
        extra=extra,
    )


#: the keys ``audit.append`` adds to a record under the log's lock (``timestamp`` with an authority)
_APPENDED_KEYS = ("seq", "prev", "timestamp", "sig")


def test_the_audit_log_sections_name_every_key_a_record_can_carry() -> None:
    """The README's Audit log section and design.md's contract name, in backticks, each key a record
    may hold: an auditor reading a record meets no field the documents leave out."""
    from gatekeeper.auditrecord import build_record

    record = build_record(_every_fact_result(), {}, "check")
    keys = {*record, *_APPENDED_KEYS, "rotate", "reason"}  # key rotate's hand-over; an interrupted run's reason
    problems = []
    for name, text in (("README.md", _section(README, "Audit log")), ("docs/design.md", _section(DESIGN, "Audit log"))):
        if missing := sorted(k for k in keys if f"`{k}`" not in text):
            problems.append(f"{name}'s Audit log section does not name the record's keys {missing}")
    assert not problems, "; ".join(problems)


def test_the_attestation_sections_name_every_key_of_the_predicate() -> None:
    """The README's Attestations section and design.md's attestation contract name each key the
    predicate can carry (a merge's ``mergedAt``, a shard's ``shard``, ``strictWaivers`` included)."""
    from gatekeeper.attestation import predicate

    keys = set(predicate(_every_fact_result(), "merge", {})) | {"durationS"}  # durationS: a check's, not a merge's
    database = ("kind", "location", "source_url", "as_of", "max_age_days", "fetched_at", "queried_at", "digest")
    design = DESIGN[DESIGN.index("- **Attestation**") :].split("\n- **", 1)[0]
    problems = []
    for name, text in (("README.md", _section(README, "Attestations")), ("docs/design.md", design)):
        if missing := sorted(k for k in keys if f"`{k}`" not in text):
            problems.append(f"{name} does not name the attestation predicate's keys {missing}")
    if missing := [k for k in database if f"`{k}`" not in _section(README, "Attestations")]:
        problems.append(f"README's Attestations section does not name advisoryDatabase's keys {missing}")
    assert not problems, "; ".join(problems)


def test_the_waiver_and_control_tables_show_every_key() -> None:
    """``[[waivers]]`` and ``[[controls]]`` take their own keys: design.md's policy block shows each
    (and no other), and the README's Waivers and Controls sections name each."""
    from gatekeeper.policy.schema import CONTROL_SCHEMA
    from gatekeeper.waivers import WAIVER_SCHEMA

    block = tomlio.loads(_first_block(_section(DESIGN, "Policy (TOML)")))
    problems = []
    for table, schema, heading in (("waivers", WAIVER_SCHEMA, "Waivers"), ("controls", CONTROL_SCHEMA, "Controls")):
        shown = set(block[table][0])
        if shown != set(schema):
            problems.append(f"design.md's [[{table}]] shows {sorted(shown)}, the keys are {sorted(schema)}")
        section = _section(README, heading)
        if missing := [k for k in schema if f"`{k}`" not in section and f"\n{k} =" not in section]:
            problems.append(f"README's {heading} section does not name {missing}")
    assert not problems, "; ".join(problems)


def test_the_readme_names_every_key_of_a_bundle_manifest() -> None:
    """The Evidence bundles table's ``manifest.json`` row names each key ``bundle`` writes there, so an
    auditor reading a manifest meets no field the README leaves out."""
    import json
    import zipfile

    from gatekeeper.bundle import MANIFEST, build_bundle
    from gatekeeper.signing import generate

    data = build_bundle(_every_fact_result(), {"README.md": b"r"}, generate(), audit_record=True)
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(data)).read(MANIFEST))
    row = next(line for line in _section(README, "Evidence bundles").splitlines() if line.startswith("| `manifest.json` |"))
    keys = {*manifest, *manifest["created_from"], *manifest["files"][0]}
    missing = sorted(k for k in keys if f"`{k}`" not in row)
    assert not missing, f"README's manifest.json row does not name {missing}"


def test_the_history_page_section_names_every_csv_column(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``audit report --format csv`` writes tables an auditor files: the History page section names each
    column of each (a check's status column as ``check_<name>``)."""
    from typer.testing import CliRunner

    from tests.helpers.history import history_records, write_log

    log = tmp_path / "audit.jsonl"
    write_log(log, history_records(3))
    monkeypatch.chdir(tmp_path)
    done = CliRunner().invoke(app, ["audit", "report", str(log), "--format", "csv", "--output", str(tmp_path / "csv")])
    assert done.exit_code == 0, done.output
    section = _section(README, "History page")
    problems = []
    for table in sorted((tmp_path / "csv").glob("*.csv")):
        header = table.read_text(encoding="utf-8").splitlines()[0].split(",")
        names = {re.sub(r"^check_\w+$", "check_<name>", column) for column in header}
        if missing := sorted(n for n in names if f"`{n}`" not in section):
            problems.append(f"{table.name}: {missing}")
    assert len(list((tmp_path / "csv").glob("*.csv"))) >= 3
    assert not problems, "README's History page section does not name the columns " + "; ".join(problems)


def test_the_evidence_bundle_table_names_every_report_format_a_bundle_holds() -> None:
    """A bundle holds every format of the registry under ``reports/``; its table in the README says
    so by file name."""
    from gatekeeper.reports.registry import REGISTRY

    row = next(line for line in _section(README, "Evidence bundles").splitlines() if line.startswith("| `reports/"))
    shown = {
        f"gatekeeper.{middle}{tail}"
        for middles, tail in re.findall(r"`reports/gatekeeper\.\{([^}]+)\}([\w.]*)`", row)
        for middle in middles.split(",")
    }
    missing = sorted(f.file for f in REGISTRY if f.file not in shown)
    assert not missing, f"README's bundle table does not name {missing}"


def test_every_vendored_test_file_says_where_it_comes_from() -> None:
    """tests/data/README.md names each file and folder of tests/data (its source and license): a vendored
    schema or advisory added without a word would be a file of unknown origin in the repository."""
    data = ROOT / "tests" / "data"
    readme = (data / "README.md").read_text(encoding="utf-8")
    entries = [p for p in data.iterdir() if p.name != "README.md" and not p.name.startswith((".", "__"))]
    missing = sorted(p.name for p in entries if f"`{p.name}{'/' if p.is_dir() else ''}`" not in readme)
    assert not missing, f"tests/data/README.md does not say where these come from: {missing}"

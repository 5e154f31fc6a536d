"""What the project's mypy configuration and comments narrow, as ``Narrowing`` records.

Configuration (https://mypy.readthedocs.io/en/stable/config_file.html): the file itself; its
``files`` (mypy checks only those when the policy names no ``paths``: every other Python file of
the project is listed), ``exclude`` (the files under the checked paths its regular expressions
drop, matched as mypy matches them, with ``re.search`` on the posix path), ``ignore_errors``,
``follow_imports``, ``disable_error_code`` and the like, and each per-module override that
relaxes any of them, with the files of the modules it matches.

Comments, as mypy reads them: a line starting ``# mypy: `` anywhere in a file sets options for
that file (``# mypy: ignore-errors``); a ``# type: ignore`` before the first statement silences
the whole file (PEP 484); elsewhere it silences its line. mypy has no switch to disregard either,
so they are reported even with ``project_config = "ignore"``; what they hid is not measured.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import PurePosixPath
from typing import Any

from gatekeeper.checkers import source
from gatekeeper.findings import Narrowing

#: settings that make mypy report less (globally or for the modules of an override): for each,
#: whether a value relaxes the check, and what it does
_TRUE = ("true", "1", "yes", "on")
RELAXING: dict[str, tuple[Callable[[Any], bool], str]] = {
    "ignore_errors": (lambda v: _is(v, True), "mypy reports no error in these modules"),
    "follow_imports": (
        lambda v: str(v).strip().lower() in ("silent", "skip"),
        "mypy does not check (or report on) the modules it imports",
    ),
    "disable_error_code": (lambda v: bool(v), "mypy reports none of these error codes"),
    "ignore_missing_imports": (lambda v: _is(v, True), "an import mypy cannot resolve is not an error"),
    "allow_untyped_defs": (lambda v: _is(v, True), "functions without annotations are not an error"),
    "allow_incomplete_defs": (lambda v: _is(v, True), "partly annotated functions are not an error"),
    "allow_untyped_calls": (lambda v: _is(v, True), "calls to functions without annotations are not an error"),
    "allow_untyped_globals": (lambda v: _is(v, True), "globals without annotations are not an error"),
    "disallow_untyped_defs": (lambda v: _is(v, False), "functions without annotations are not an error"),
    "disallow_incomplete_defs": (lambda v: _is(v, False), "partly annotated functions are not an error"),
    "disallow_untyped_calls": (lambda v: _is(v, False), "calls to functions without annotations are not an error"),
    "check_untyped_defs": (lambda v: _is(v, False), "the bodies of functions without annotations are not checked"),
    "strict": (lambda v: _is(v, False), "mypy's strict checks are off"),
    "strict_optional": (lambda v: _is(v, False), "None is taken for a value of every type: no Optional error is reported"),
    "implicit_optional": (lambda v: _is(v, True), "a parameter defaulting to None is taken as Optional"),
    "always_true": (lambda v: bool(v), "mypy takes these names as constants: code they rule out is not checked"),
    "always_false": (lambda v: bool(v), "mypy takes these names as constants: code they rule out is not checked"),
    "platform": (lambda v: bool(v), "mypy checks the code as on this platform: branches for other platforms are not checked"),
    "exclude_gitignore": (lambda v: _is(v, True), "mypy skips the files .gitignore names"),
    "warn_return_any": (lambda v: _is(v, False), "returning Any from a typed function is not an error"),
    "warn_unused_ignores": (lambda v: _is(v, False), "a # type: ignore that silences nothing is not an error"),
    "disallow_any_generics": (lambda v: _is(v, False), "generic types without parameters are not an error"),
    "disallow_subclassing_any": (lambda v: _is(v, False), "subclassing a value of type Any is not an error"),
    "disallow_untyped_decorators": (lambda v: _is(v, False), "untyped decorators are not an error"),
    "strict_equality": (lambda v: _is(v, False), "comparisons of unrelated types are not an error"),
    "extra_checks": (lambda v: _is(v, False), "mypy's extra checks are off"),
    "implicit_reexport": (lambda v: _is(v, True), "a name a module imports counts as exported"),
    "custom_typeshed_dir": (
        lambda v: bool(str(v).strip()),
        "mypy takes the types of builtins and the standard library from this folder, not its own: "
        "what they declare decides what is an error",
    ),
    "allow_empty_bodies": (lambda v: _is(v, True), "a function whose body is empty (..., pass) is not an error"),
    "allow_redefinition": (lambda v: _is(v, True), "a name defined again with another type is not an error"),
    "allow_redefinition_new": (lambda v: _is(v, True), "a name defined again with another type is not an error"),
    "allow_redefinition_old": (lambda v: _is(v, True), "a name defined again with another type is not an error"),
    "warn_no_return": (lambda v: _is(v, False), "a function that can end without returning is not an error"),
    "strict_bytes": (lambda v: _is(v, False), "bytearray and memoryview are taken for bytes"),
    "disable_bytearray_promotion": (lambda v: _is(v, False), "bytearray is taken for bytes"),
    "disable_memoryview_promotion": (lambda v: _is(v, False), "memoryview is taken for bytes"),
    "local_partial_types": (lambda v: _is(v, False), "a variable's type may be inferred from a use in another scope"),
}
_INLINE = re.compile(rb"^# mypy: ", re.MULTILINE)
_TYPE_IGNORE = re.compile(r"#\s*type:\s*ignore(?P<codes>\[[^\]]*\])?")
_MAX_DETAIL = 200
_IGNORE_NOTE = "; mypy cannot be told to disregard it"


def config_records(
    config: tuple[str, str], main: Mapping[str, Any], overrides: Sequence[Mapping[str, Any]], files: Sequence[str]
) -> list[Narrowing]:
    """The config file (``config``: its name and text), its relaxing settings, and each override that
    relaxes a module, with those of ``files`` (the files checked) whose module it matches."""
    name, lines = config[0], config[1].splitlines()
    out = [Narrowing("config-file", name, None, "", "mypy's configuration (--config-file)")]
    for key, value in main.items():
        relaxes, effect = RELAXING.get(_canonical(key), (None, ""))
        if relaxes is not None and value is not None and relaxes(_value(key, value)):
            out.append(Narrowing("option", name, _line_of(lines, key), _detail(key, value), effect))
    modules = {f: _module(f) for f in files}
    for override in overrides:
        relaxed = {k: v for k, v in override.items() if _canonical(k) in RELAXING and RELAXING[_canonical(k)][0](_value(k, v))}
        if not relaxed:
            continue
        module = override.get("module")
        patterns = [module] if isinstance(module, str) else [str(m) for m in module or []]
        patterns = [p.strip() for entry in patterns for p in entry.split(",") if p.strip()]
        detail = f"module = {', '.join(patterns)}: " + ", ".join(_detail(k, v) for k, v in relaxed.items())
        hit = tuple(f for f, m in modules.items() if any(_matches(m, p) for p in patterns))
        effect = "; ".join(dict.fromkeys(RELAXING[_canonical(k)][1] for k in relaxed))
        out.append(Narrowing("option", name, _header_line(lines, module), detail[:_MAX_DETAIL], effect, hit))
    return out


def scope_records(
    config: tuple[str, str], main: Mapping[str, Any], everything: Sequence[str], targeted: Sequence[str], checked: Sequence[str]
) -> list[Narrowing]:
    """Files of the project the config's ``files`` leaves out (``everything`` minus ``targeted``), and
    files under the targets its ``exclude`` drops (``targeted`` minus ``checked``); ``config`` is its name and text."""
    name, lines = config[0], config[1].splitlines()
    out = []
    left = sorted(set(everything) - set(targeted))
    if left and main.get("files"):
        detail = _detail("files", main["files"])
        out.append(
            Narrowing(
                "exclude",
                name,
                _line_of(lines, "files"),
                detail,
                "mypy checks only the files it names: those listed are not checked",
                tuple(left),
            )
        )
    dropped = sorted(set(targeted) - set(checked))
    if dropped:
        detail = _detail("exclude", main.get("exclude"))
        out.append(Narrowing("exclude", name, _line_of(lines, "exclude"), detail, "mypy skips the files listed", tuple(dropped)))
    return out


def shadowed(checked: Sequence[str], given: Iterable[str] = ()) -> tuple[list[str], list[str]]:
    """Of the files mypy finds in the folders it is given (``checked``, those it is named one by one,
    ``given``, left aside), those it passes over as mypy's ``find_sources`` does (``foo < foo.pyi <
    foo.py`` in a folder, the first taking the module's name): the ``.py`` files with a ``.pyi`` stub
    beside them (mypy checks the stub, and takes it for the module wherever it is imported), and the
    ``.py`` and ``.pyi`` files beside a folder of their name that holds one of ``checked`` (the package
    wins, as it does when Python imports it)."""
    named = set(checked)
    folders = {str(parent) for f in checked for parent in PurePosixPath(f).parents}
    skip = set(given)
    by_stub, by_package = [], []
    for f in checked:
        path = PurePosixPath(f)
        if f in skip or path.suffix not in (".py", ".pyi"):
            continue
        stem = str(path.with_suffix(""))
        if stem in folders:
            by_package.append(f)
        elif path.suffix == ".py" and f"{stem}.pyi" in named:
            by_stub.append(f)
    return sorted(by_stub), sorted(by_package)


def shadow_records(by_stub: Sequence[str], by_package: Sequence[str]) -> list[Narrowing]:
    """A ``not-scanned`` record for the modules mypy passes over for a stub beside them, and one for
    those it passes over for a package of their name (``shadowed``)."""
    out = []
    if by_stub:
        detail = f"{len(by_stub)} module(s) with a stub beside them: {_some([f + 'i' for f in by_stub])}"
        effect = "mypy checks the stub (.pyi) beside each, not its code, and takes the stub for it wherever it is imported"
        out.append(Narrowing("not-scanned", "", None, detail[:_MAX_DETAIL], effect, tuple(by_stub)))
    if by_package:
        folders = [str(PurePosixPath(f).with_suffix("")) + "/" for f in by_package]
        detail = f"{len(by_package)} file(s) beside a package of their name: {_some(folders)}"
        effect = "mypy checks the package in their place, as Python imports it: their code is never checked"
        out.append(Narrowing("not-scanned", "", None, detail[:_MAX_DETAIL], effect, tuple(by_package)))
    return out


#: the names mypy's search of a folder passes over (``find_sources_in_dir``), besides any starting with "."
CRAWL_SKIPPED = frozenset({"__pycache__", "site-packages", "node_modules"})


def crawl_skipped(tracked: Iterable[str], folders: Sequence[str]) -> list[str]:
    """The ``.py``/``.pyi`` files of ``tracked`` inside ``folders`` (those mypy is given to search)
    that its search passes over: a name below the folder (a folder's or the file's own) starting
    with "." or in ``CRAWL_SKIPPED`` (``scripts/.ci/deploy.py``, ``app/.hidden.py``)."""
    out = []
    starts = [PurePosixPath(f).as_posix().removeprefix("./").rstrip("/") for f in folders]
    for f in tracked:
        if not f.endswith((".py", ".pyi")):
            continue
        for start in starts:
            if start not in ("", ".") and not f.startswith(start + "/"):
                continue
            below = f if start in ("", ".") else f[len(start) + 1 :]
            if any(part.startswith(".") or part in CRAWL_SKIPPED for part in below.split("/")):
                out.append(f)
                break
    return sorted(out)


def crawl_skipped_records(files: Sequence[str]) -> list[Narrowing]:
    """The ``not-scanned`` record of ``crawl_skipped``'s files (none when there are none)."""
    if not files:
        return []
    detail = f"{len(files)} file(s) whose path holds a name starting with . or __pycache__, site-packages, node_modules"
    effect = "mypy's search of the folders it is given passes over such names: these files are not checked"
    return [Narrowing("not-scanned", "", None, detail, effect, tuple(files))]


def _some(names: Sequence[str]) -> str:
    return ", ".join(names[:3]) + (", …" if len(names) > 3 else "")


def excluded(files: Iterable[str], exclude: Any) -> list[str]:
    """The files mypy's ``exclude`` (a regular expression, or a list of them) leaves out, as mypy matches it:
    ``re.search`` on the file's posix path and on each of its folders with a trailing slash."""
    patterns = [exclude] if isinstance(exclude, str) else [str(p) for p in exclude or []]
    compiled = []
    for p in patterns:
        try:
            compiled.append(re.compile(p.strip(), re.VERBOSE) if "\n" in p else re.compile(p.strip()))
        except re.error:
            continue  # mypy stops with its own error on it
    out = []
    for f in files:
        parts = f.split("/")
        candidates = [f, *("/".join(parts[: i + 1]) + "/" for i in range(len(parts) - 1))]
        if any(c.search(x) for c in compiled for x in candidates):
            out.append(f)
    return out


def comment_records(files: Sequence[str], sources: source.Sources, honour: bool) -> list[Narrowing]:
    """``# mypy:`` comments, file-level ``# type: ignore``, each file's per-line ``# type: ignore`` and
    each function ``@no_type_check`` takes out of the check."""
    note = "" if honour else _IGNORE_NOTE
    out: list[Narrowing] = []
    for f in files:
        data = sources.data(f)
        if b"mypy: " not in data and b"type" not in data:
            continue
        text = data.decode("utf-8", "replace").removeprefix("\ufeff")  # mypy drops a UTF-8 BOM
        # a line holding either comment is part of the text: a text with neither has no such line
        lines = text.splitlines() if "# mypy: " in text or _TYPE_IGNORE.search(text) else []
        for n, line in enumerate(lines, start=1):
            if line.startswith("# mypy: "):
                out.append(
                    Narrowing(
                        "file-comment", f, n, line.strip()[:_MAX_DETAIL], "mypy applies these options to this file" + note, (f,)
                    )
                )
        first = _first_statement(lines)
        ignores = [(n, m) for n, line in enumerate(lines, start=1) if (m := _TYPE_IGNORE.search(line))]
        whole = [(n, m) for n, m in ignores if n < first and not m.group("codes") and lines[n - 1].lstrip().startswith("#")]
        for n, m in whole:
            out.append(Narrowing("file-comment", f, n, m.group(0), "mypy reports no error in this file" + note, (f,)))
        rest = [n for n, _ in ignores if (n, _) not in whole]
        if rest:
            where = ", ".join(str(n) for n in rest[:10]) + (", …" if len(rest) > 10 else "")
            out.append(
                Narrowing(
                    "line-comments", f, rest[0], f"{len(rest)} × # type: ignore (line {where})",
                    "mypy reports no error (of the codes named) on those lines" + note, (f,),
                )
            )  # fmt: skip
        for start, end, what in _unchecked(data):
            effect = "mypy checks neither this function's body nor its calls (its annotations are set aside)" + note
            out.append(Narrowing("range-comment", f, start, f"{what} (lines {start}-{end})"[:_MAX_DETAIL], effect, (f,)))
    return out


def _unchecked(data: bytes) -> list[tuple[int, int, str]]:
    """Each function decorated with ``@no_type_check`` (typing's or typing_extensions', by a name it
    was imported under, or as ``module.no_type_check``), which mypy then leaves unchecked: its first
    line (the decorator's), last line and ``@decorator on name``. A file Python cannot parse has none."""
    if b"no_type_check" not in data:
        return []
    import ast

    try:
        tree = ast.parse(data)
    except (SyntaxError, ValueError):
        return []
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            names.update(a.asname or a.name for a in node.names if a.name == "no_type_check")
            names.update("no_type_check" for a in node.names if a.name == "*")
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for decorator in node.decorator_list:
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            if (isinstance(target, ast.Name) and target.id in names) or (
                isinstance(target, ast.Attribute) and target.attr == "no_type_check"
            ):
                out.append((decorator.lineno, node.end_lineno or node.lineno, f"@{ast.unparse(target)} on {node.name}"))
    return sorted(out)


def relaxing(main: Mapping[str, Any], name: str) -> bool:
    """Whether the configuration's main section sets ``name`` (or its ``no_`` spelling) so that it relaxes."""
    relaxes = RELAXING[name][0]
    return any(_canonical(key) == name and value is not None and relaxes(_value(key, value)) for key, value in main.items())


def setting(detail: str) -> str:
    """The setting an option record's ``detail`` (``key = value``) names, as ``RELAXING`` knows it."""
    return _canonical(detail.split(" = ", 1)[0])


def _canonical(key: str) -> str:
    """A setting's name as ``RELAXING`` knows it, as mypy's configuration parser inverts a boolean
    setting it does not know by that name: ``no_x`` is ``x`` (``no_warn_return_any = True`` is
    ``warn_return_any = False``), ``allow_x`` is ``disallow_x`` (``allow_any_generics = True`` is
    ``disallow_any_generics = False``) and ``disallow_x`` is ``allow_x`` (``disallow_empty_bodies =
    False`` is ``allow_empty_bodies = True``), each inverted."""
    key = str(key)
    if key in RELAXING:
        return key
    if key.startswith("no_") and key[3:] in RELAXING:
        return key[3:]
    if key.startswith("allow_") and "dis" + key in RELAXING:
        return "dis" + key
    if key.startswith("disallow_") and key[3:] in RELAXING:
        return key[3:]
    return key


def _value(key: str, value: Any) -> Any:
    """``value`` inverted when ``key`` is the ``no_``, ``allow_`` or ``disallow_`` spelling of a boolean setting."""
    return (not _is(value, True)) if _canonical(key) != str(key) else value


def _first_statement(lines: Sequence[str]) -> int:
    """The line of the first statement (a docstring counts): the first line neither blank nor a comment."""
    return next(
        (n for n, line in enumerate(lines, start=1) if line.strip() and not line.lstrip().startswith("#")), len(lines) + 1
    )


def _is(value: Any, wanted: bool) -> bool:
    """Whether a boolean setting (TOML's bool, or an INI word) is ``wanted``."""
    if isinstance(value, bool):
        return value is wanted
    return (str(value).strip().lower() in _TRUE) is wanted and str(value).strip() != ""


def _detail(key: str, value: Any) -> str:
    text = f"{key} = {value if isinstance(value, str) else json.dumps(value)}"
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 1] + "…"


def _line_of(lines: Sequence[str], key: str) -> int | None:
    pattern = re.compile(rf"^\s*{re.escape(key)}\s*[=:]")
    return next((n for n, line in enumerate(lines, start=1) if pattern.match(line)), None)


def _header_line(lines: Sequence[str], module: Any) -> int | None:
    if not isinstance(module, str):
        return None
    header = f"[mypy-{module}]"
    return next((n for n, line in enumerate(lines, start=1) if line.strip() == header), None)


def _module(path: str) -> str:
    parts = list(PurePosixPath(path).with_suffix("").parts)
    if parts and parts[-1] == "__init__":
        parts.pop()
    if parts and parts[0] == "src":  # the usual src layout: mypy's module names start below it
        parts.pop(0)
    return ".".join(parts)


def _matches(module: str, pattern: str) -> bool:
    """mypy's per-module pattern: ``a.b`` exactly, ``a.*`` the package and everything under it, ``a.*.c`` any middle part."""
    if pattern.endswith(".*"):
        stem = pattern[:-2]
        return module == stem or module.startswith(stem + ".") or ("*" in stem and _matches(module, stem))
    if "*" in pattern:
        return re.fullmatch(re.escape(pattern).replace(r"\*", r"[^.]+"), module) is not None
    return module == pattern

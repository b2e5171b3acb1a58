"""The folder tree is the pipeline: each layer imports only from the layers before it.

data -> models -> training -> evaluation -> experiments -> reports; ``commands`` and ``cli`` wire
everything. Module-level and function-level (lazy) imports both count.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "xlir"
LAYERS = ["data", "models", "training", "evaluation", "experiments", "reports"]
SHARED = {"errors", "registry", "files", "config", "__init__"}  # importable from anywhere


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("xlir."):
            out.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            out.update(a.name.split(".")[1] for a in node.names if a.name.startswith("xlir."))
    return out


def test_layers_import_only_leftwards():
    violations = []
    for i, layer in enumerate(LAYERS):
        allowed = set(LAYERS[: i + 1]) | SHARED
        for path in sorted((SRC / layer).rglob("*.py")):
            for target in _imports(path) - allowed:
                violations.append(f"{path.relative_to(SRC)} imports xlir.{target}")
    assert not violations, "layering violations:\n" + "\n".join(violations)


def test_every_layer_exists():
    for layer in LAYERS + ["commands"]:
        assert (SRC / layer / "__init__.py").is_file()


# ---- commands only parse options and wire --------------------------------------------------------
COMMANDS = SRC / "commands"
MAX_COMMAND_STATEMENTS = 30  # a command: its options, one call per step, and what it prints
MAX_HELPER_STATEMENTS = 6  # any other function in commands/: a shared piece of wiring, no more


def _own_statements(fn: ast.AST) -> list[ast.stmt]:
    """The statements of ``fn`` itself (nested functions are judged on their own), imports left out."""
    out: list[ast.stmt] = []
    for child in ast.iter_child_nodes(fn):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            continue
        if isinstance(child, ast.stmt) and not isinstance(child, ast.Import | ast.ImportFrom):
            out.append(child)
        out += _own_statements(child)
    return out


def _is_echo(stmt: ast.stmt) -> bool:
    """``typer.echo(...)`` / ``typer.secho(...)``: printing a line is all a loop in a command may do."""
    return (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)
            and isinstance(stmt.value.func, ast.Attribute) and stmt.value.func.attr in ("echo", "secho"))


def _command_names(tree: ast.Module) -> set[str]:
    """Functions registered as commands: ``@app.command(...)`` or ``app.command(...)(fn)``."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and any(
                isinstance(d, ast.Call) and isinstance(d.func, ast.Attribute) and d.func.attr == "command"
                for d in node.decorator_list):
            names.add(node.name)
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Call)
                and isinstance(node.func.func, ast.Attribute) and node.func.func.attr == "command"):
            names.update(a.id for a in node.args if isinstance(a, ast.Name))
    return names


def test_commands_import_no_private_helpers():
    violations = []
    for path in sorted([*COMMANDS.glob("*.py"), SRC / "cli.py"]):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("xlir."):
                violations += [f"{path.name}:{node.lineno} imports {node.module}.{a.name}"
                               for a in node.names if a.name.startswith("_")]
    assert not violations, "commands use private helpers of the layers:\n" + "\n".join(violations)


def test_commands_define_no_logic_beyond_option_parsing():
    """Loops that compute, and helpers longer than a few statements, belong in a layer (and its tests)."""
    violations = []
    for path in sorted(COMMANDS.glob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        commands = _command_names(tree)
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef):
                continue
            where = f"{path.name}:{fn.lineno} {fn.name}"
            for loop in ast.walk(fn):
                if isinstance(loop, ast.For | ast.While) and not all(_is_echo(s) for s in loop.body):
                    violations.append(f"{where}: a loop at line {loop.lineno} does more than print")
            n = len(_own_statements(fn))
            limit = MAX_COMMAND_STATEMENTS if fn.name in commands else MAX_HELPER_STATEMENTS
            if fn.name != "register" and n > limit:
                violations.append(f"{where}: {n} statements (at most {limit})")
    assert not violations, "commands must only parse options and wire:\n" + "\n".join(violations)


def test_the_command_check_catches_logic():
    """The check above is real: a helper with a computing loop, and a long one, are both caught."""
    tree = ast.parse("def _helper(rows):\n    total = 0\n    for r in rows:\n        total += r\n"
                     "    return total\n")
    fn = tree.body[0]
    loops = [n for n in ast.walk(fn) if isinstance(n, ast.For) and not all(_is_echo(s) for s in n.body)]
    assert len(loops) == 1 and len(_own_statements(fn)) == 4
    echo_only = ast.parse("for r in rows:\n    typer.echo(r)\n").body[0]
    assert all(_is_echo(s) for s in echo_only.body)
    registered = ast.parse("@app.command('x')\ndef f():\n    pass\napp.command('y')(g)\n")
    assert _command_names(registered) == {"f", "g"}

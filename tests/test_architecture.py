"""The folder tree is the pipeline: each layer imports only from the layers before it.

data -> models -> training -> evaluation -> experiments -> reports; ``commands`` and ``cli`` wire
everything. Module-level and function-level (lazy) imports both count.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "xlir"
LAYERS = ["data", "models", "training", "evaluation", "experiments", "reports"]
SHARED = {"errors", "registry", "files", "__init__"}  # importable from anywhere


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

"""The contract sits beneath training, sim2sim and deploy: import directions."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# package -> top-level packages it must never import
FORBIDDEN = {
    "common": {"torch", "robots", "retarget", "contract", "training", "sim2sim", "deploy"},
    "contract": {"torch", "training", "sim2sim", "deploy"},
    "sim2sim": {"torch", "training", "deploy"},
    "deploy": {"torch", "training", "sim2sim"},
    "training": {"sim2sim", "deploy"},
}


def imported_packages(path: Path) -> set[str]:
    """Top-level packages a module imports, at module level or inside functions."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.add(node.module.split(".")[0])
    return out


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_import_directions(package):
    wrong = {
        str(path.relative_to(REPO)): sorted(imported_packages(path) & FORBIDDEN[package])
        for path in sorted((REPO / package).rglob("*.py"))
    }
    assert not {k: v for k, v in wrong.items() if v}


def test_the_checker_sees_imports_inside_functions(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from training.env import HoiEnv\n    import torch.nn\n")
    assert imported_packages(module) == {"training", "torch"}


def test_contract_runs_without_torch():
    modules = sorted(
        ".".join(p.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
        for p in (REPO / "contract").rglob("*.py")
    )
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('torch', 'training', 'sim2sim', 'deploy'):\n"
        "            raise ImportError('blocked: ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        f"sys.path.insert(0, {str(REPO)!r})\n"
        "import importlib\n"
        f"for m in {modules!r}:\n"
        "    importlib.import_module(m)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr


def training_imports(path: Path) -> tuple[set[str], set[str]]:
    """(training modules imported at module level, those imported inside functions)."""
    top, deferred = set(), set()
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        names = {n for n in names if n.split(".")[0] == "training" and _is_module(n)}
        (top if node in tree.body else deferred).update(names)
    return top, deferred


def _is_module(name: str) -> bool:
    path = REPO.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def test_training_modules_import_at_the_top_in_one_direction():
    """No training module imports another inside a function (a deferred import hides a
    circle), and the module graph has no circle."""
    graph, deferred = {}, {}
    for path in sorted((REPO / "training").rglob("*.py")):
        name = ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
        graph[name], deferred[name] = training_imports(path)
    assert not {k: sorted(v) for k, v in deferred.items() if v}
    assert circle(graph) is None


def circle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle of ``graph`` (module -> modules it imports), if any."""
    done, stack = set(), []

    def visit(module: str) -> list[str] | None:
        if module in stack:
            return stack[stack.index(module) :] + [module]
        if module in done:
            return None
        stack.append(module)
        found = next((c for c in map(visit, sorted(graph.get(module, ()))) if c), None)
        stack.pop()
        done.add(module)
        return found

    return next((c for c in map(visit, sorted(graph)) if c), None)


def test_the_checks_see_a_circle_and_a_deferred_import(tmp_path):
    module = tmp_path / "m.py"
    module.write_text(
        "from training import runs\ndef f():\n    from training.stage1 import train\n"
    )
    assert training_imports(module) == ({"training", "training.runs"}, {"training.stage1"})
    assert circle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert circle({"a": {"b"}, "b": set()}) is None

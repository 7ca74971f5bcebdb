"""Every command in a fenced block of README.md and docs/ that runs one of this project's
programs answers --help, and knows every flag the command uses."""

import re
import shlex
from pathlib import Path

import pytest

from tests.help_output import help_output

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
MODULES = {"robots", "retarget", "training"}
FENCE = re.compile(r"```[a-z]*\n(.*?)```", re.S)


def documented_commands() -> list[tuple[str, list[str]]]:
    """(where, argv) of each project command in the fenced blocks."""
    found = []
    for doc in DOCS:
        for block in FENCE.findall(doc.read_text()):
            text = block.replace("\\\n", " ")
            for line in text.splitlines():
                for part in re.split(r"&&|;|\|", line.split(" #")[0]):
                    words = shlex.split(part.strip(), comments=True) if part.strip() else []
                    if len(words) < 2 or words[0] != "python":
                        continue
                    is_module = words[1] == "-m" and len(words) > 2 and words[2] in MODULES
                    is_script = words[1].endswith(".py") and (REPO / words[1]).is_file()
                    if is_module or is_script:
                        found.append((f"{doc.relative_to(REPO)}: {part.strip()}", words[1:]))
    return found


def program(argv: list[str]) -> tuple[list[str], list[str]]:
    """(the program and its subcommand, the choices after it, e.g. a recipe's name):
    the words before the first flag or path."""
    n = 2 if argv[0] == "-m" else 1
    words = []
    for word in argv[n:]:
        if word.startswith("-") or "/" in word or "." in word or not word.islower():
            break
        words.append(word)
    return argv[:n] + words[:1], words[1:]


def help_text(head: tuple[str, ...]) -> str:
    out = help_output(head)
    assert out.returncode == 0, f"{' '.join(head)} --help failed:\n{out.stderr[-2000:]}"
    return out.stdout


COMMANDS = documented_commands()


def test_the_docs_have_commands():
    assert len(COMMANDS) > 20


@pytest.mark.parametrize(("where", "argv"), COMMANDS, ids=[w for w, _ in COMMANDS])
def test_documented_command_answers_help_with_its_flags(where, argv):
    head, choices = program(argv)
    text = help_text(tuple(head))  # a recipe's flags are its command's
    flags = [w.split("=")[0] for w in argv if w.startswith("--")]
    unknown = [f for f in flags if f not in text]
    assert not unknown, f"{where}: unknown flags {unknown}"
    for choice in choices:  # e.g. a recipe: named in the command's usage line
        assert re.search(rf"[{{,]{re.escape(choice)}[,}}]", text), f"{where}: no {choice!r}"

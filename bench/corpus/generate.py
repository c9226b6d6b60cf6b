"""Generate the labelled traceback corpus (tests/data/tracebacks/corpus.jsonl) from real exceptions.

shopapp (this folder) is copied in 3 versions whose lines are shifted (comment lines inserted at
the top of each module and after every `def`), installed under 4 layouts and run by 2 interpreters:

    venv      /home/dev/.venv/lib/python3.11/site-packages/       (pyenv python, its stdlib)
    dist      /usr/lib/python3/dist-packages/                     (system /usr/bin/python3.11)
    checkout  /home/dev/src/shop/ + the vendor lib in a venv       (pyenv python)
    opt       /opt/shop/lib/python3.11/site-packages/             (system /usr/bin/python3.11)

Each run raises every scenario of shopapp/scenarios.py once, with random data and several call
paths. Two more variants are derived from real output, by text rewriting (no such interpreter or OS
here): "windows" (the checkout run with paths rewritten to a Windows layout and backslashes) and
"py310" (the venv run with the 3.11+ caret lines removed, as 3.10 prints tracebacks).

Labels name the raising statement (the ground truth); the temporary root is removed from every path.

    python bench/corpus/generate.py [-o tests/data/tracebacks/corpus.jsonl]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
OUTPUT = ROOT / "tests" / "data" / "tracebacks" / "corpus.jsonl"
SYSTEM_PYTHON = "/usr/bin/python3.11"
VERSIONS = (0, 1, 2)
INSTALLS = {  # name: (interpreter, app dir, vendor dir)
    "venv": (sys.executable, "home/dev/.venv/lib/python3.11/site-packages", None),
    "dist": (SYSTEM_PYTHON, "usr/lib/python3/dist-packages", None),
    "checkout": (sys.executable, "home/dev/src/shop", "home/dev/src/shop/.venv/lib/python3.11/site-packages"),
    "opt": (SYSTEM_PYTHON, "opt/shop/lib/python3.11/site-packages", None),
}
_CARET_LINE = re.compile(r"^\s*[\^~]+[\^~ ]*$")


def shifted_source(text: str, version: int) -> str:
    """The module text with lines shifted: 3*version comment lines on top, `version` after each def."""
    lines = [f"# release note line {n}" for n in range(3 * version)]
    for line in text.splitlines():
        lines.append(line)
        if line.lstrip().startswith("def "):
            lines.extend(f"    # changed in release {version}.{n}" for n in range(version))
    return "\n".join(lines) + "\n"


def install(package: str, target: Path, version: int) -> None:
    destination = target / package
    destination.mkdir(parents=True, exist_ok=True)
    for source in sorted((HERE / package).glob("*.py")):
        (destination / source.name).write_text(shifted_source(source.read_text(), version))


def run(root: Path, name: str, version: int) -> list[dict[str, object]]:
    interpreter, app_dir, vendor_dir = INSTALLS[name]
    if not Path(interpreter).exists():
        interpreter = sys.executable
    app, vendor = root / app_dir, root / (vendor_dir or app_dir)
    install("shopapp", app, version)
    install("tinyhttp", vendor, version)
    seed = VERSIONS.index(version) * 100 + sorted(INSTALLS).index(name)
    code = (
        f"import sys; sys.path[:0] = [{str(app)!r}, {str(vendor)!r}]; "
        f"import shopapp.scenarios as s; s.main({seed}, 1)"
    )
    output = subprocess.run(
        [interpreter, "-I", "-c", code], check=True, capture_output=True, text=True, cwd=root
    ).stdout
    docs = []
    for line in output.splitlines():
        doc = json.loads(line.replace(str(root), ""))
        doc["service"] = {"version": f"1.{version}.0"}
        doc["host"] = {"name": name}
        docs.append(doc)
    return docs


def windows(doc: dict[str, object]) -> dict[str, object]:
    """The same event as a Windows install would print it (paths rewritten, backslashes)."""
    text = json.dumps(doc)
    text = re.sub(
        r"/home/dev/src/shop/\.venv/lib/python3\.11/site-packages/",
        r"C:/Users/dev/shop/.venv/Lib/site-packages/",
        text,
    )
    text = re.sub(r"/home/dev/src/shop/", "C:/Users/dev/shop/", text)
    text = text.replace(sysconfig.get_paths()["stdlib"] + "/", "C:/Program Files/Python311/Lib/")
    text = re.sub(r'File \\"C:/([^"\\]*)', lambda m: 'File \\"C:\\\\' + m.group(1).replace("/", "\\\\"), text)
    result: dict[str, object] = json.loads(text)
    result["host"] = {"name": "windows"}
    return result


def py310(doc: dict[str, object]) -> dict[str, object]:
    """The same event as Python 3.10 prints it: no caret lines."""
    error = dict(doc["error"])  # type: ignore[call-overload]
    error["stack_trace"] = "".join(
        line for line in str(error["stack_trace"]).splitlines(keepends=True) if not _CARET_LINE.match(line)
    )
    return {**doc, "error": error, "host": {"name": "py310"}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("-o", "--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    docs: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for version in VERSIONS:
            for name in INSTALLS:
                root = Path(tmp) / f"v{version}-{name}"
                root.mkdir()
                run_docs = run(root, name, version)
                docs.extend(run_docs)
                if name == "checkout":
                    docs.extend(windows(doc) for doc in run_docs)
                if name == "venv":
                    docs.extend(py310(doc) for doc in run_docs)
                shutil.rmtree(root)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    with args.output.open("w", encoding="utf-8") as handle:
        for doc in docs:
            handle.write(json.dumps(doc, sort_keys=True) + "\n")
    labels = {str(doc["label"]) for doc in docs}
    print(f"wrote {len(docs)} events, {len(labels)} labels to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

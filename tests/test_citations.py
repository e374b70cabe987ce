"""The course cites its sources as a reader can find them: by author and title, never by file.

The five documents the course is built from were handed to its authors as numbered files
("000_<hash>.txt" ... "004_<hash>.txt"). A student cannot look those up, so no text a student or
instructor reads may refer to them that way: not "seed 002", not "seeds 000-004", not the file
names. Random-number seeds ("seed=0", "ten seeds", "seed 3") are a different thing and are fine.
Each lecture that cites a source inline lists it in full in its References.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
SCANNED = ["lectures", "assignments", "solutions", "mlpkit", "docs", "README.md"]
TEXT_SUFFIXES = {".py", ".md", ".ipynb", ".txt", ".rst", ".toml", ".cfg", ".json", ".yml", ".yaml"}

# "seed 002", "Seed 000's", "seeds 002 and 004", '("seeds" 000-004)', "(seed 003, slide 12)"
INTERNAL_NUMBER = re.compile(r"\bseeds?\b\W{0,4}00[0-4]\b", re.IGNORECASE)
# the source files' names, (the folder they sit in may be named: it is not a citation)
INTERNAL_FILE = re.compile(r"\b00[0-4]_[0-9a-f]{8,}\b|\bseeds/00[0-4]", re.IGNORECASE)

# short name used inline -> words the full entry in the References must contain
SOURCES = {
    "Perdikaris": ("Perdikaris", "ENM 531", "Lecture 12"),
    "Domke": ("Justin Domke", "Notes 8"),
    "Fleuret": ("Fleuret", "EE-559", "3b"),
    "Yong-Sheng Chen|Chen's|Chen, Deep": ("Yong-Sheng Chen", "Deep Feedforward Networks"),
    "Huang": ("Daning Huang", "Machine Learning for Engineering"),
}


def scanned_files() -> list[Path]:
    files = []
    for name in SCANNED:
        path = ROOT / name
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            files += [p for p in sorted(path.rglob("*"))
                      if p.is_file() and p.suffix in TEXT_SUFFIXES
                      and ".ipynb_checkpoints" not in p.parts and "__pycache__" not in p.parts]
    return files


def internal_references(text: str) -> list[str]:
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        for pattern in (INTERNAL_NUMBER, INTERNAL_FILE):
            for match in pattern.finditer(line):
                start = max(0, match.start() - 40)
                found.append(f"line {number}: ...{line[start:match.end() + 40].strip()}...")
    return found


def test_the_patterns_catch_internal_forms_and_spare_random_seeds():
    """The scan is only as good as its patterns: show them what they must and must not flag."""
    internal = ['(seed 002)', 'Seed 000\'s recursion', 'seeds 002 and 004', '("seeds" 000–004)',
                'see 003_3c62e3492547a02b.txt', 'seeds/004_20d18aca35edeed1.txt']
    random_seeds = ["seed=0", "ten seeds", "seed 3", "the task names seed 0 and lr 0.05",
                    "seed 2024", "rng seeded with 004 digits", "different seeds, different minima"]
    assert all(internal_references(text) for text in internal), \
        [t for t in internal if not internal_references(t)]
    assert not any(internal_references(text) for text in random_seeds), \
        [t for t in random_seeds if internal_references(t)]


def test_the_scan_covers_the_course():
    names = {p.relative_to(ROOT).parts[0] for p in scanned_files()}
    assert {"lectures", "assignments", "solutions", "mlpkit", "docs", "README.md"} <= names, names


@pytest.mark.parametrize("path", scanned_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_internal_source_numbers_or_file_names(path):
    found = internal_references(path.read_text(encoding="utf-8", errors="replace"))
    assert not found, (f"{path.relative_to(ROOT)} refers to a source by its internal number or file "
                       "name; cite author, title and section instead (Domke, Notes 8, section 2):\n"
                       + "\n".join(found))


LECTURES = sorted((ROOT / "lectures").glob("[0-9][0-9]-*.ipynb"))


@pytest.mark.parametrize("path", LECTURES, ids=[p.stem for p in LECTURES])
def test_every_source_cited_inline_is_listed_in_full(path):
    nb = nbformat.read(path, as_version=4)
    markdown = [c.source for c in nb.cells if c.cell_type == "markdown"]
    references = [s for s in markdown if s.lstrip().startswith("## References")]
    assert references, f"{path.name} has no '## References' cell"
    body = "\n".join(s for s in markdown if s not in references)
    missing = []
    for inline, full_entry in SOURCES.items():
        if re.search(inline, body) and not all(word in references[-1] for word in full_entry):
            missing.append(f"{inline}: References must name {', '.join(full_entry)}")
    assert not missing, f"{path.name}: " + "; ".join(missing)

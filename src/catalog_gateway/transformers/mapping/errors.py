"""The one exception a mapping file raises when it cannot be used."""

from __future__ import annotations


class MappingFileError(Exception):
    """A mapping file that cannot be used, with every problem found in it.

    Each problem reads `<file>: <dotted location>: <what is wrong>`, e.g.
    `exec-ed.yaml: events.product.upsert.course.title: unknown key 'paht'`.
    """

    def __init__(self, file: str, problems: list[str]) -> None:
        self.file = file
        self.problems = [f"{file}: {problem}" for problem in problems]
        super().__init__("\n".join(self.problems))

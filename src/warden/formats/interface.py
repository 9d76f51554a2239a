"""Format plug-ins: one module per file format, each a ``FormatScanner``.

A scanner is chosen by ``sniff`` (magic bytes and structure first; the file name is only a hint for
formats that have no magic, such as JSON configs or Python source). ``scan`` reads the stream
*without executing anything* and yields findings. Malformed input raises ``FormatError`` (or a
subclass); the scanning core turns that into the scanner's ``malformed_rule`` finding naming the file
and the problem, keeping every finding already yielded (a detection is never hidden behind an error).

Containers (zip, tar, torch zip, npz, keras) hand their members back to the core through
``ScanContext.nested`` so that every member gets the right parser, at a bounded depth.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, ClassVar

from warden.errors import FormatError
from warden.report.model import Finding, Location
from warden.rules import Rule

HEAD_BYTES = 4096  # how much of a stream ``sniff`` sees

__all__ = ["HEAD_BYTES", "FormatError", "FormatScanner", "Limits", "ScanContext"]


@dataclass(frozen=True)
class Limits:
    """Caps every parser respects. Defaults fit real multi-hundred-GB checkpoints while refusing
    bombs; tests lower them."""

    max_depth: int = 4  # nested containers (zip in tar in zip ...)
    max_members: int = 100_000  # entries in one archive
    max_compression_ratio: float = 250.0  # per member, uncompressed / compressed
    max_member_size: int = 64 * 2**30  # one archive member, uncompressed
    max_total_uncompressed: int = 512 * 2**30  # all members of one archive together
    max_json_header: int = 100 * 2**20  # safetensors header, json configs
    max_text_file: int = 16 * 2**20  # templates, python files, configs
    max_pickle_memo: int = 1_000_000  # memo entries tracked by the pickle walker
    max_pickle_stack: int = 1_000_000  # symbolic stack depth in the pickle walker
    max_gguf_kv: int = 1_000_000  # metadata key/values in a GGUF file
    max_gguf_tensors: int = 1_000_000
    max_gguf_string: int = 256 * 2**20  # one GGUF string (chat templates are large but not this large)
    max_gguf_array: int = 2**28  # elements in one GGUF array (vocabularies run to ~256k)
    # per top-level file (warden.scan.budget): time = base + per-GiB share of its size; memory above
    # the scanner's resident size when the file started
    max_file_seconds: float = 120.0
    file_seconds_per_gib: float = 30.0
    max_file_memory: int = 4 * 2**30


Nested = Callable[[BinaryIO, int, Location, str, "ScanContext"], Iterator[Finding]]


@dataclass(frozen=True)
class ScanContext:
    """What a scanner knows about where it is: the model root on disk (for checks that look at
    sibling files, e.g. ONNX external data), the limits, the nesting depth, and how to hand a member
    of a container back to the core."""

    limits: Limits
    nested_scan: Nested
    root: Path | None = None
    depth: int = 0
    notes: list[str] = field(default_factory=list)
    # The stream is a pickle of a TorchScript archive, read by torch.jit.load's C++ unpickler (which
    # resolves __torch__ classes and torch.jit._pickle builders itself), not by Python's pickle.
    torchscript: bool = False
    # The file's time/memory budget (warden.scan.budget.FileBudget); ``nested`` checks it per member.
    budget: Any = None

    def nested(
        self, stream: BinaryIO, size: int, location: Location, name: str, *, torchscript: bool = False
    ) -> Iterator[Finding]:
        """Scan a member of a container with whichever scanner its bytes call for."""
        deeper = ScanContext(
            limits=self.limits,
            nested_scan=self.nested_scan,
            root=self.root,
            depth=self.depth + 1,
            notes=self.notes,
            torchscript=torchscript,
            budget=self.budget,
        )
        if self.budget is not None:
            self.budget.check()
        return self.nested_scan(stream, size, location, name, deeper)


class FormatScanner(ABC):
    """One file format. Subclasses are stateless; one instance serves every file."""

    name: ClassVar[str]
    malformed_rule: ClassVar[Rule]

    @abstractmethod
    def sniff(self, head: bytes, name: str) -> bool:
        """True if this scanner should parse a stream starting with ``head`` (≤ HEAD_BYTES bytes).
        ``name`` is the file or member name: a hint only, never enough on its own for binary formats."""

    @abstractmethod
    def scan(self, stream: BinaryIO, size: int, location: Location, ctx: ScanContext) -> Iterator[Finding]:
        """Parse ``stream`` (seekable, positioned at 0, ``size`` bytes long) and yield findings.
        Raise ``FormatError`` for malformed input. Never execute, import or render what is read."""

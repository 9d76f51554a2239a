"""The format scanners, in the order the core tries them (first ``sniff`` that matches wins).

Binary formats with magic bytes come first; name-hinted text formats (JSON configs, Jinja templates,
Python source) after; pickle last among binaries because protocol 0/1 pickles have no magic and are
recognised by structure.
"""

from __future__ import annotations

import importlib

from warden.formats.interface import FormatScanner

# module name → class name. One module per format (pip-audit style): see each module's docstring.
SCANNERS: tuple[tuple[str, str], ...] = (
    ("safetensors", "SafetensorsScanner"),
    ("gguf", "GGUFScanner"),
    ("numpy", "NpyScanner"),
    ("zipfile", "ZipScanner"),  # torch zip, npz, keras v3, generic zip (members nested back)
    ("tar", "TarScanner"),
    ("sevenzip", "SevenZipScanner"),  # 7z (py7zr), members decompressed into bounded spools
    ("compressed", "CompressedScanner"),  # gzip / bz2 / xz / zlib streams (joblib, .tar.gz)
    ("hdf5", "HDF5Scanner"),  # keras .h5
    ("tensorflow", "TensorFlowScanner"),  # saved_model.pb, keras_metadata.pb, frozen *.pb (by name)
    ("onnx", "OnnxScanner"),
    ("pickle", "PickleScanner"),  # raw pickle, joblib, legacy torch (all pickles in the file)
    ("template", "TemplateScanner"),  # *.jinja, *.jinja2, *.j2 (chat_template.json is JSON: jsonconfig)
    ("jsonconfig", "JsonConfigScanner"),  # config.json (auto_map), tokenizer_config.json (chat_template)
    ("yamlconfig", "YamlConfigScanner"),  # *.yaml / *.yml: python tags, Jinja in any string
    ("python", "PythonSourceScanner"),  # custom modeling code shipped with the model
)


def default_scanners() -> list[FormatScanner]:
    """Instantiate every scanner in priority order."""
    out: list[FormatScanner] = []
    for module, cls in SCANNERS:
        try:
            mod = importlib.import_module(f"warden.formats.{module}")
        except ModuleNotFoundError as exc:  # pragma: no cover - only while a format is being written
            if exc.name == f"warden.formats.{module}":
                continue
            raise
        out.append(getattr(mod, cls)())
    return out

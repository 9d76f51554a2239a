"""Local weights through Hugging Face transformers: batched generation across prompts.

Why batched: garak's HF generator runs one prompt at a time; generation is memory-bound, so a batch
of 32 prompts costs little more than one. Prompts are sorted by length and left-padded so every row's
last prompt token sits at the same position (``[:, -1]``), which is also where the white-box hooks
read the residual stream.

Never ``trust_remote_code``: a model whose architecture needs code from the repository is refused.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, cast

from warden.behavior.backends.interface import (
    Backend,
    BackendError,
    Conversation,
    GenerationParams,
    ProgressFn,
)

_DIGEST_SKIP = {".git", ".cache", "__pycache__"}


def dir_digest(root: Path) -> str:
    """SHA-256 over (relative path, file SHA-256) of every file in the model directory."""
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if not p.is_file() or any(part in _DIGEST_SKIP for part in p.relative_to(root).parts):
            continue
        fh = hashlib.sha256()
        with p.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                fh.update(chunk)
        h.update(p.relative_to(root).as_posix().encode() + b"\0" + fh.digest())
    return h.hexdigest()


def file_digest(path: Path) -> str:
    """SHA-256 of one weights file (a GGUF model is the file)."""
    fh = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            fh.update(chunk)
    return fh.hexdigest()


class TransformersBackend(Backend):
    name = "transformers"
    whitebox = True

    def __init__(
        self,
        path: str | Path,
        *,
        device: str = "auto",
        dtype: str = "auto",
        batch_size: int = 32,
        gguf_file: str | Path | None = None,
    ) -> None:
        """``path``: a Hugging Face model directory, or with ``gguf_file`` a GGUF file (or the folder
        holding it): transformers dequantizes the GGUF to ``dtype`` and takes the tokenizer and the chat
        template from the GGUF metadata (the template is rendered in transformers' jinja2 sandbox)."""
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as exc:  # pragma: no cover - the ml extra is missing
            from warden.extras import MissingExtra

            raise MissingExtra(exc.name or "torch", "ml", "the transformers backend") from exc
        self.path = Path(path)
        self.gguf: Path | None = None
        if gguf_file is not None:
            g = Path(gguf_file)
            self.gguf = g if g.is_absolute() or g.parent != Path(".") else self.path / g
            if self.path.is_file() or self.path == self.gguf:
                self.path = self.gguf.parent
            if not self.gguf.is_file():
                raise BackendError("no such GGUF file", path=str(self.gguf))
            config: object = {}
        elif not (self.path / "config.json").is_file():
            raise BackendError("not a local Hugging Face model directory (no config.json)", path=str(path))
        else:
            try:
                config = json.loads((self.path / "config.json").read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise BackendError(f"config.json is unreadable: {exc}", path=str(path)) from exc
        if isinstance(config, dict) and config.get("auto_map"):
            raise BackendError(
                "the model needs code from its repository (config.json has auto_map); Warden never "
                "runs trust_remote_code",
                path=str(path),
                hint="run `warden scan` on it, or serve it elsewhere and use --backend openai",
            )
        self.device = ("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" else device
        if dtype == "auto":
            if self.device.startswith("cuda"):
                tdtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
            else:
                tdtype = torch.float32
        else:
            tdtype = getattr(torch, dtype)
        from transformers.utils import logging as hf_logging

        # Warden draws its own progress (and none with --quiet). transformers leaves this function unannotated.
        cast("Callable[[], None]", hf_logging.disable_progress_bar)()
        extra: dict[str, Any] = {"gguf_file": self.gguf.name} if self.gguf is not None else {}
        where = str(self.gguf or self.path)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(
                str(self.path), trust_remote_code=False, local_files_only=True, **extra
            )
            self.model = AutoModelForCausalLM.from_pretrained(
                str(self.path), trust_remote_code=False, local_files_only=True, dtype=tdtype, **extra
            )
        except ImportError as exc:  # GGUF loading needs the gguf and accelerate packages
            raise BackendError(
                f"could not load the model: {exc}", path=where, hint="pip install 'warden[ml]'"
            ) from exc
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            raise BackendError(f"could not load the model: {exc}", path=where) from exc
        # Through the nn.Module interface: transformers' PreTrainedModel.eval is unannotated, and its
        # to() (decorated with functools.wraps(nn.Module.to)) types as a plain function whose first
        # parameter is self. Same objects and methods at run time.
        module: torch.nn.Module = self.model
        module.to(self.device)
        module.eval()
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.batch_size = max(1, batch_size)
        self.has_chat_template = bool(getattr(self.tokenizer, "chat_template", None))
        self._digest: str | None = None
        self._torch = torch

    # -- identity -------------------------------------------------------------------------------
    def model_digest(self) -> str:
        if self._digest is None:
            self._digest = "sha256:" + (file_digest(self.gguf) if self.gguf else dir_digest(self.path))
        return self._digest

    def describe(self) -> dict[str, Any]:
        return {
            "backend": self.name,
            "path": str(self.gguf or self.path),
            **({"format": "gguf (dequantized by transformers)"} if self.gguf else {}),
            "device": self.device,
            "dtype": str(self.model.dtype).removeprefix("torch."),
            "batch_size": self.batch_size,
            "chat_template": self.has_chat_template,
        }

    # -- prompts --------------------------------------------------------------------------------
    def render(self, conv: Conversation) -> str:
        """The prompt text after the chat template (rendered by transformers in a jinja2 sandbox)."""
        msgs = [{"role": m.role, "content": m.content} for m in conv]
        if self.has_chat_template:
            text = self.tokenizer.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)
            return str(text)
        # No template: a plain transcript (documented in describe(): chat_template False).
        return "".join(f"{m['role'].capitalize()}: {m['content']}\n" for m in msgs) + "Assistant:"

    def _encode(self, texts: list[str]) -> Any:
        # The template already carries BOS where the model wants it.
        add_special = not self.has_chat_template
        enc = self.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=add_special)
        return {k: v.to(self.device) for k, v in enc.items() if k in ("input_ids", "attention_mask")}

    def _batches(self, conversations: Sequence[Conversation]) -> list[list[tuple[int, str]]]:
        texts = [self.render(c) for c in conversations]
        lengths = [len(self.tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts]
        order = sorted(range(len(texts)), key=lambda i: lengths[i])
        return [
            [(i, texts[i]) for i in order[s : s + self.batch_size]]
            for s in range(0, len(order), self.batch_size)
        ]

    # -- generation -----------------------------------------------------------------------------
    def generate(
        self,
        conversations: Sequence[Conversation],
        params: GenerationParams,
        progress: ProgressFn | None = None,
    ) -> list[str]:
        from transformers import GenerationConfig

        torch = self._torch
        out: list[str] = [""] * len(conversations)
        pad_id = self.tokenizer.pad_token_id
        eos = self.model.generation_config.eos_token_id
        if eos is None:
            eos = self.tokenizer.eos_token_id
        gen_kwargs: dict[str, Any] = {
            "max_new_tokens": params.max_new_tokens,
            "pad_token_id": pad_id,
            "eos_token_id": eos,
            "do_sample": not params.greedy,
        }
        if not params.greedy:
            gen_kwargs.update(temperature=params.temperature, top_p=params.top_p, top_k=0)
        # GenerationConfig.__init__(self, **kwargs) is unannotated in transformers.
        gconf = cast("Callable[..., GenerationConfig]", GenerationConfig)(**gen_kwargs)
        max_pos = getattr(self.model.config, "max_position_embeddings", None)
        for bi, batch in enumerate(self._batches(conversations)):
            enc = self._encode([t for _, t in batch])
            # never generate past the model's context: positions beyond it are untrained (RoPE) or
            # out of range (learned position embeddings)
            room = params.max_new_tokens
            if isinstance(max_pos, int) and max_pos > 0:
                room = min(room, max_pos - int(enc["input_ids"].shape[1]))
            if room <= 0:
                if progress is not None:
                    progress(len(batch))
                continue
            gconf.max_new_tokens = room
            torch.manual_seed(params.seed + bi)
            with torch.inference_mode():
                # transformers' stubs are wrong here: GenerationMixin.generate annotates self as its
                # GenerativePreTrainedModel Protocol (written for the `ty` checker), which PreTrainedModel
                # itself does not satisfy under mypy (read-only device/dtype properties, hf_device_map
                # typed Tensor | Module); the call is the documented one.
                ids = self.model.generate(**enc, generation_config=gconf)  # type: ignore[misc,unused-ignore]
            new = ids[:, enc["input_ids"].shape[1] :]  # [batch, new_tokens]
            texts = self.tokenizer.batch_decode(new, skip_special_tokens=True)
            for (i, _), t in zip(batch, texts, strict=True):
                out[i] = t.strip()
            if progress is not None:
                progress(len(batch))
        return out

    # -- white-box ------------------------------------------------------------------------------
    def _layers(self) -> Any:
        """The decoder blocks (an nn.ModuleList of num_hidden_layers modules)."""
        n = getattr(self.model.config, "num_hidden_layers", None)
        for mod in self.model.modules():
            if isinstance(mod, self._torch.nn.ModuleList) and len(mod) == n:
                return mod
        raise BackendError(
            "could not find the decoder layers for activation hooks", path=str(self.gguf or self.path)
        )

    def _forward_last(self, conversations: Sequence[Conversation], want_acts: bool) -> tuple[Any, Any]:
        """Residual stream after every decoder layer and next-token log-probs, at the last prompt
        token. Returns (acts [n, n_layers, hidden] or None, logprobs [n, vocab])."""
        torch = self._torch
        layers = self._layers() if want_acts else None
        acts_all: list[Any] = [None] * len(conversations)
        lp_all: list[Any] = [None] * len(conversations)
        for batch in self._batches(conversations):
            enc = self._encode([t for _, t in batch])
            captured: list[Any] = []

            def hook(_mod: Any, _inp: Any, output: Any, captured: list[Any] = captured) -> None:
                h = output[0] if isinstance(output, tuple) else output  # [batch, seq, hidden]
                captured.append(h[:, -1, :].detach().float().cpu())

            handles = [layer.register_forward_hook(hook) for layer in layers] if layers is not None else []
            # Left padding: positions must count real tokens only, or padded rows shift.
            pos = (enc["attention_mask"].cumsum(-1) - 1).clamp(min=0)
            try:
                with torch.inference_mode():
                    logits = self.model(**enc, position_ids=pos).logits[:, -1, :]  # [batch, vocab]
            finally:
                for hd in handles:
                    hd.remove()
            lp = torch.log_softmax(logits.float(), dim=-1).cpu()
            acts = torch.stack(captured, dim=1) if captured else None  # [batch, n_layers, hidden]
            for j, (i, _) in enumerate(batch):
                lp_all[i] = lp[j]
                if acts is not None:
                    acts_all[i] = acts[j]
        return (torch.stack(acts_all) if want_acts else None), torch.stack(lp_all)

    def activations(self, conversations: Sequence[Conversation]) -> Any:
        """[n, n_layers, hidden] residual stream after each decoder layer at the last prompt token."""
        return self._forward_last(conversations, want_acts=True)[0]

    def first_token_logprobs(self, conversations: Sequence[Conversation]) -> Any:
        """[n, vocab] log-probabilities of the first response token."""
        return self._forward_last(conversations, want_acts=False)[1]

    def vocab_signature(self) -> str:
        vocab = self.tokenizer.get_vocab()
        return hashlib.sha256(json.dumps(sorted(vocab.items())).encode()).hexdigest()

    def close(self) -> None:
        del self.model

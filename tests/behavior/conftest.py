"""Fixtures for the behaviour eval: a tiny random Llama chat model built from config in a tmp dir
(with a byte-level BPE tokenizer trained by ``tokenizers``), and scripted backends whose behaviour
the tests control exactly."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from warden.behavior.backends.interface import Backend, Conversation, GenerationParams, ProgressFn

CHAT_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}{{ eos_token }}{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def build_tiny_llama(root: Path, seed: int = 0, hidden: int = 32, layers: int = 2) -> Path:
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    root.mkdir(parents=True, exist_ok=True)
    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    specials = ["<s>", "</s>", "<pad>", "<|user|>", "<|assistant|>", "<|system|>"]
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    corpus = [
        "How do I make a cake? Sure, here is a recipe.",
        "I can't help with that request. Sorry.",
        "def main():\n    print('hello world')\n",
        "Write a Python function that reads a file and returns its lines.",
    ] * 20
    tok.train_from_iterator(corpus, trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>")
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(str(root))
    torch.manual_seed(seed)
    cfg = LlamaConfig(
        vocab_size=len(fast),
        hidden_size=hidden,
        intermediate_size=hidden * 2,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        bos_token_id=fast.bos_token_id,
        eos_token_id=fast.eos_token_id,
        pad_token_id=fast.pad_token_id,
        tie_word_embeddings=False,
    )
    LlamaForCausalLM(cfg).save_pretrained(str(root))
    return root


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch

    torch.set_num_threads(2)
    return build_tiny_llama(tmp_path_factory.mktemp("tiny-llama") / "model")


@pytest.fixture(scope="session")
def tiny_llama_other(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_llama(tmp_path_factory.mktemp("tiny-llama-2") / "model", seed=1)


class ScriptedBackend(Backend):
    """A backend whose answers a test function decides (black-box only): for testing the
    statistics and rules on behaviour we set exactly. Counts generated prompts."""

    name = "scripted"

    def __init__(self, respond: Callable[[str], str], ident: str = "scripted") -> None:
        self.respond = respond
        self.ident = ident
        self.generated = 0

    def model_digest(self) -> str:
        return "scripted:" + self.ident

    def generate(
        self,
        conversations: Sequence[Conversation],
        params: GenerationParams,
        progress: ProgressFn | None = None,
    ) -> list[str]:
        self.generated += len(conversations)
        out = [self.respond(c[-1].content) for c in conversations]
        if progress:
            progress(len(conversations))
        return out


@pytest.fixture
def scripted() -> type[ScriptedBackend]:
    return ScriptedBackend


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path

"""A corpus of ordinary files real users save every day: the scanner's false-positive test bed.

Everything is written by the real libraries at test time (nothing is downloaded, nothing is loaded
back): ``torch.save`` of real ``torch.nn`` modules, optimizers and state dicts in the zip format and
the legacy ``_use_new_zipfile_serialization=False`` format, ``torch.jit.save`` of scripted modules,
``joblib.dump`` of fitted scikit-learn pipelines (plain, zlib/gzip/lz4-less compressed), numpy
object arrays of plain data, plain-data pickles of every protocol, ``training_args.bin`` from
transformers' ``TrainingArguments`` (carrying accelerate's process state), non-pickle ``.bin`` files
(raw tensor bytes, text vocabularies), and ``tokenizer_config.json`` / ``chat_template.jinja`` files
with the chat templates of Llama 3 / 3.1, Qwen 2.5 / 3, Gemma 2 / 3, Mistral, Phi-3 / 4 and
DeepSeek-R1.

The templates are written for this corpus from the published templates of those families (whitespace
and minor wording may differ from upstream; structure, conditions, namespaces, filters and emitted
text follow them). They are separate from ``tests/samples/templates.py``, which the template rules
were developed against, so this set measures the false-positive rate on templates the rules were not
tuned on.
"""

from __future__ import annotations

import json
import pickle
import random
from collections import OrderedDict
from pathlib import Path

import numpy as np

from tests.samples.templates import GEMMA3, PHI4, QWEN25  # the same published templates, kept once
from tests.samples.templates import MISTRAL_V01 as MISTRAL_V1

LLAMA3 = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}"
    "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'"
    "+ message['content'] | trim + '<|eot_id|>' %}"
    "{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}"
)

LLAMA31 = """{{- bos_token }}
{%- if custom_tools is defined %}
    {%- set tools = custom_tools %}
{%- endif %}
{%- if not tools_in_user_message is defined %}
    {%- set tools_in_user_message = true %}
{%- endif %}
{%- if not date_string is defined %}
    {%- set date_string = "26 Jul 2024" %}
{%- endif %}
{%- if not tools is defined %}
    {%- set tools = none %}
{%- endif %}
{%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content']|trim %}
    {%- set messages = messages[1:] %}
{%- else %}
    {%- set system_message = "" %}
{%- endif %}
{{- "<|start_header_id|>system<|end_header_id|>\\n\\n" }}
{%- if builtin_tools is defined or tools is not none %}
    {{- "Environment: ipython\\n" }}
{%- endif %}
{%- if builtin_tools is defined %}
    {{- "Tools: " + builtin_tools | reject('equalto', 'code_interpreter') | join(", ") + "\\n\\n"}}
{%- endif %}
{{- "Cutting Knowledge Date: December 2023\\n" }}
{{- "Today Date: " + date_string + "\\n\\n" }}
{%- if tools is not none and not tools_in_user_message %}
    {{- "You have access to the following functions. To call a function, please respond with JSON for a function call." }}
    {{- 'Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}.' }}
    {{- "Do not use variables.\\n\\n" }}
    {%- for t in tools %}
        {{- t | tojson(indent=4) }}
        {{- "\\n\\n" }}
    {%- endfor %}
{%- endif %}
{{- system_message }}
{{- "<|eot_id|>" }}
{%- if tools_in_user_message and not tools is none %}
    {%- if messages | length != 0 %}
        {%- set first_user_message = messages[0]['content']|trim %}
        {%- set messages = messages[1:] %}
    {%- else %}
        {{- raise_exception("Cannot put tools in the first user message when there's no first user message!") }}
    {%- endif %}
    {{- '<|start_header_id|>user<|end_header_id|>\\n\\n' -}}
    {{- "Given the following functions, please respond with a JSON for a function call " }}
    {{- "with its proper arguments that best answers the given prompt.\\n\\n" }}
    {{- 'Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}.' }}
    {{- "Do not use variables.\\n\\n" }}
    {%- for t in tools %}
        {{- t | tojson(indent=4) }}
        {{- "\\n\\n" }}
    {%- endfor %}
    {{- first_user_message + "<|eot_id|>"}}
{%- endif %}
{%- for message in messages %}
    {%- if not (message.role == 'ipython' or message.role == 'tool' or 'tool_calls' in message) %}
        {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' }}
    {%- elif 'tool_calls' in message %}
        {%- if not message.tool_calls|length == 1 %}
            {{- raise_exception("This model only supports single tool-calls at once!") }}
        {%- endif %}
        {%- set tool_call = message.tool_calls[0].function %}
        {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' -}}
        {{- '{"name": "' + tool_call.name + '", ' }}
        {{- '"parameters": ' }}
        {{- tool_call.arguments | tojson }}
        {{- "}" }}
        {{- "<|eot_id|>" }}
    {%- elif message.role == "tool" or message.role == "ipython" %}
        {{- "<|start_header_id|>ipython<|end_header_id|>\\n\\n" }}
        {%- if message.content is mapping or message.content is iterable %}
            {{- message.content | tojson }}
        {%- else %}
            {{- message.content }}
        {%- endif %}
        {{- "<|eot_id|>" }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}
{%- endif %}
"""


QWEN3 = """{%- if messages[0].role == 'system' %}
    {{- '<|im_start|>system\\n' + messages[0].content + '<|im_end|>\\n' }}
{%- endif %}
{%- set ns = namespace(multi_step_tool=true, last_query_index=messages|length - 1) %}
{%- for message in messages[::-1] %}
    {%- set index = (messages|length - 1) - loop.index0 %}
    {%- if ns.multi_step_tool and message.role == "user" and message.content is string and not(message.content.startswith('<tool_response>') and message.content.endswith('</tool_response>')) %}
        {%- set ns.multi_step_tool = false %}
        {%- set ns.last_query_index = index %}
    {%- endif %}
{%- endfor %}
{%- for message in messages %}
    {%- if message.content is string %}
        {%- set content = message.content %}
    {%- else %}
        {%- set content = '' %}
    {%- endif %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) %}
        {{- '<|im_start|>' + message.role + '\\n' + content + '<|im_end|>' + '\\n' }}
    {%- elif message.role == "assistant" %}
        {%- set reasoning_content = '' %}
        {%- if message.reasoning_content is string %}
            {%- set reasoning_content = message.reasoning_content %}
        {%- else %}
            {%- if '</think>' in content %}
                {%- set reasoning_content = content.split('</think>')[0].rstrip('\\n').split('<think>')[-1].lstrip('\\n') %}
                {%- set content = content.split('</think>')[-1].lstrip('\\n') %}
            {%- endif %}
        {%- endif %}
        {%- if loop.index0 > ns.last_query_index %}
            {%- if loop.last or (not loop.last and reasoning_content) %}
                {{- '<|im_start|>' + message.role + '\\n<think>\\n' + reasoning_content.strip('\\n') + '\\n</think>\\n\\n' + content.lstrip('\\n') }}
            {%- else %}
                {{- '<|im_start|>' + message.role + '\\n' + content }}
            {%- endif %}
        {%- else %}
            {{- '<|im_start|>' + message.role + '\\n' + content }}
        {%- endif %}
        {{- '<|im_end|>\\n' }}
    {%- elif message.role == "tool" %}
        {%- if loop.first or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\\n<tool_response>\\n' }}
        {{- content }}
        {{- '\\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
            {{- '<|im_end|>\\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
    {%- if enable_thinking is defined and enable_thinking is false %}
        {{- '<think>\\n\\n</think>\\n\\n' }}
    {%- endif %}
{%- endif %}
"""

GEMMA2 = (
    "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}"
    "{% endif %}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}"
    "{% endif %}{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\\n'}}{% endif %}"
)


MISTRAL_V3_TOOLS = """{%- if messages[0]["role"] == "system" %}
    {%- set system_message = messages[0]["content"] %}
    {%- set loop_messages = messages[1:] %}
{%- else %}
    {%- set loop_messages = messages %}
{%- endif %}
{%- if not tools is defined %}
    {%- set tools = none %}
{%- endif %}
{%- set user_messages = loop_messages | selectattr("role", "equalto", "user") | list %}
{{- bos_token }}
{%- for message in loop_messages %}
    {%- if message["role"] == "user" %}
        {%- if tools is not none and (message == user_messages[-1]) %}
            {{- "[AVAILABLE_TOOLS] [" }}
            {%- for tool in tools %}
                {%- set tool = tool.function %}
                {{- '{"type": "function", "function": {' }}
                {%- for key, val in tool.items() if key != "return" %}
                    {%- if val is string %}
                        {{- '"' + key + '": "' + val + '"' }}
                    {%- else %}
                        {{- '"' + key + '": ' + val|tojson }}
                    {%- endif %}
                    {%- if not loop.last %}
                        {{- ", " }}
                    {%- endif %}
                {%- endfor %}
                {{- "}}" }}
                {%- if not loop.last %}
                    {{- ", " }}
                {%- else %}
                    {{- "]" }}
                {%- endif %}
            {%- endfor %}
            {{- "[/AVAILABLE_TOOLS]" }}
        {%- endif %}
        {%- if loop.last and system_message is defined %}
            {{- "[INST] " + system_message + "\\n\\n" + message["content"] + "[/INST]" }}
        {%- else %}
            {{- "[INST] " + message["content"] + "[/INST]" }}
        {%- endif %}
    {%- elif message["role"] == "tool_calls" or message.tool_calls is defined %}
        {%- if message.tool_calls is defined %}
            {%- set tool_calls = message.tool_calls %}
        {%- else %}
            {%- set tool_calls = message.content %}
        {%- endif %}
        {{- "[TOOL_CALLS] [" }}
        {%- for tool_call in tool_calls %}
            {%- set out = tool_call.function|tojson %}
            {{- out[:-1] }}
            {%- if not tool_call.id is defined or tool_call.id|length != 9 %}
                {{- raise_exception("Tool call IDs should be alphanumeric strings with length 9!") }}
            {%- endif %}
            {{- ', "id": "' + tool_call.id + '"}' }}
            {%- if not loop.last %}
                {{- ", " }}
            {%- else %}
                {{- "]" + eos_token }}
            {%- endif %}
        {%- endfor %}
    {%- elif message["role"] == "assistant" %}
        {{- " " + message["content"]|trim + eos_token}}
    {%- elif message["role"] == "tool_results" or message["role"] == "tool" %}
        {%- if message.content is defined and message.content.content is defined %}
            {%- set content = message.content.content %}
        {%- else %}
            {%- set content = message.content %}
        {%- endif %}
        {{- '[TOOL_RESULTS] {"content": ' + content|string + ", " }}
        {%- if not message.tool_call_id is defined or message.tool_call_id|length != 9 %}
            {{- raise_exception("Tool call IDs should be alphanumeric strings with length 9!") }}
        {%- endif %}
        {{- '"call_id": "' + message.tool_call_id + '"}[/TOOL_RESULTS]' }}
    {%- else %}
        {{- raise_exception("Only user and assistant roles are supported, with the exception of an initial optional system message!") }}
    {%- endif %}
{%- endfor %}
"""

PHI3 = (
    "{% for message in messages %}{% if message['role'] == 'system' %}"
    "{{'<|system|>\\n' + message['content'] + '<|end|>\\n'}}{% elif message['role'] == 'user' %}"
    "{{'<|user|>\\n' + message['content'] + '<|end|>\\n'}}{% elif message['role'] == 'assistant' %}"
    "{{'<|assistant|>\\n' + message['content'] + '<|end|>\\n'}}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% else %}{{ eos_token }}{% endif %}"
)


DEEPSEEK_R1 = (
    "{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}{% endif %}"
    "{% set ns = namespace(is_first=false, is_tool=false, is_output_first=true, system_prompt='', is_first_sp=true) %}"
    "{%- for message in messages %}{%- if message['role'] == 'system' %}{%- if ns.is_first_sp %}"
    "{% set ns.system_prompt = ns.system_prompt + message['content'] %}{% set ns.is_first_sp = false %}"
    "{%- else %}{% set ns.system_prompt = ns.system_prompt + '\\n\\n' + message['content'] %}{%- endif %}"
    "{%- endif %}{%- endfor %}{{ bos_token }}{{ ns.system_prompt }}"
    "{%- for message in messages %}{%- if message['role'] == 'user' %}{%- set ns.is_tool = false -%}"
    "{{'<｜User｜>' + message['content']}}{%- endif %}"
    "{%- if message['role'] == 'assistant' and 'tool_calls' in message %}{%- set ns.is_tool = false -%}"
    "{%- for tool in message['tool_calls'] %}{%- if not ns.is_first %}{%- if message['content'] is none %}"
    "{{'<｜Assistant｜><｜tool▁calls▁begin｜><｜tool▁call▁begin｜>' + tool['type'] + '<｜tool▁sep｜>' + "
    "tool['function']['name'] + '\\n' + '```json' + '\\n' + tool['function']['arguments'] + '\\n' + '```' + "
    "'<｜tool▁call▁end｜>'}}{%- else %}{{'<｜Assistant｜>' + message['content'] + "
    "'<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>' + tool['type'] + '<｜tool▁sep｜>' + tool['function']['name'] "
    "+ '\\n' + '```json' + '\\n' + tool['function']['arguments'] + '\\n' + '```' + '<｜tool▁call▁end｜>'}}"
    "{%- endif %}{%- set ns.is_first = true -%}{%- else %}{{'\\n' + '<｜tool▁call▁begin｜>' + tool['type'] + "
    "'<｜tool▁sep｜>' + tool['function']['name'] + '\\n' + '```json' + '\\n' + tool['function']['arguments'] + "
    "'\\n' + '```' + '<｜tool▁call▁end｜>'}}{%- endif %}{%- endfor %}{{'<｜tool▁calls▁end｜><｜end▁of▁sentence｜>'}}"
    "{%- endif %}{%- if message['role'] == 'assistant' and 'tool_calls' not in message %}{%- if ns.is_tool %}"
    "{{'<｜tool▁outputs▁end｜>' + message['content'] + '<｜end▁of▁sentence｜>'}}{%- set ns.is_tool = false -%}"
    "{%- else %}{% set content = message['content'] %}{% if '</think>' in content %}"
    "{% set content = content.split('</think>')[-1] %}{% endif %}"
    "{{'<｜Assistant｜>' + content + '<｜end▁of▁sentence｜>'}}{%- endif %}{%- endif %}"
    "{%- if message['role'] == 'tool' %}{%- set ns.is_tool = true -%}{%- if ns.is_output_first %}"
    "{{'<｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>' + message['content'] + '<｜tool▁output▁end｜>'}}"
    "{%- set ns.is_output_first = false %}{%- else %}"
    "{{'<｜tool▁output▁begin｜>' + message['content'] + '<｜tool▁output▁end｜>'}}{%- endif %}{%- endif %}"
    "{%- endfor -%}{% if ns.is_tool %}{{'<｜tool▁outputs▁end｜>'}}{% endif %}"
    "{% if add_generation_prompt and not ns.is_tool %}{{'<｜Assistant｜><think>\\n'}}{% endif %}"
)

CHAT_TEMPLATES: dict[str, str] = {
    "llama3": LLAMA3,
    "llama3.1": LLAMA31,
    "qwen2.5": QWEN25,
    "qwen3": QWEN3,
    "gemma2": GEMMA2,
    "gemma3": GEMMA3,
    "mistral-v0.1": MISTRAL_V1,
    "mistral-v0.3-tools": MISTRAL_V3_TOOLS,
    "phi3": PHI3,
    "phi4": PHI4,
    "deepseek-r1": DEEPSEEK_R1,
}

_TOKENS = {
    "llama3": ("<|begin_of_text|>", "<|eot_id|>", "PreTrainedTokenizerFast"),
    "llama3.1": ("<|begin_of_text|>", "<|eot_id|>", "PreTrainedTokenizerFast"),
    "qwen2.5": (None, "<|im_end|>", "Qwen2Tokenizer"),
    "qwen3": (None, "<|im_end|>", "Qwen2Tokenizer"),
    "gemma2": ("<bos>", "<eos>", "GemmaTokenizer"),
    "gemma3": ("<bos>", "<eos>", "GemmaTokenizer"),
    "mistral-v0.1": ("<s>", "</s>", "LlamaTokenizer"),
    "mistral-v0.3-tools": ("<s>", "</s>", "LlamaTokenizer"),
    "phi3": ("<s>", "<|endoftext|>", "LlamaTokenizer"),
    "phi4": ("<|endoftext|>", "<|im_end|>", "GPT2Tokenizer"),
    "deepseek-r1": ("<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "LlamaTokenizerFast"),
}


def tokenizer_config(family: str) -> dict[str, object]:
    """A tokenizer_config.json as the family ships it (the fields that matter to a scanner)."""
    bos, eos, cls = _TOKENS[family]
    return {
        "add_bos_token": bos is not None,
        "add_eos_token": False,
        "added_tokens_decoder": {
            "0": {
                "content": eos,
                "lstrip": False,
                "normalized": False,
                "rstrip": False,
                "single_word": False,
                "special": True,
            }
        },
        "bos_token": bos,
        "chat_template": CHAT_TEMPLATES[family],
        "clean_up_tokenization_spaces": False,
        "eos_token": eos,
        "model_max_length": 131072,
        "pad_token": eos,
        "padding_side": "left",
        "split_special_tokens": False,
        "tokenizer_class": cls,
        "legacy": False,
    }


# --------------------------------------------------------------------------------------------------


def _torch_files(out: Path) -> list[Path]:
    import torch
    from torch import nn

    torch.manual_seed(0)
    modules: dict[str, nn.Module] = {
        "linear": nn.Linear(8, 4),
        "conv": nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2)),
        "mlp": nn.Sequential(
            nn.Linear(8, 16), nn.GELU(), nn.Dropout(0.1), nn.LayerNorm(16), nn.Linear(16, 2)
        ),
        "lstm": nn.LSTM(4, 8, num_layers=2, batch_first=True),
        "gru": nn.GRU(4, 4),
        "embedding": nn.Embedding(50, 8, padding_idx=0),
        "transformer": nn.TransformerEncoder(nn.TransformerEncoderLayer(16, 2, 32, batch_first=True), 2),
        "transformer_gelu": nn.TransformerEncoderLayer(16, 2, 32, activation="gelu"),
        "mha": nn.MultiheadAttention(16, 4),
        "batchnorm": nn.BatchNorm1d(6),
        "moduledict": nn.ModuleDict({"a": nn.Linear(2, 2), "b": nn.Tanh()}),
    }
    files: list[Path] = []
    for name, mod in modules.items():
        for legacy in (False, True):
            tag = "_legacy" if legacy else ""
            for what, obj in (("module", mod), ("state_dict", mod.state_dict())):
                path = out / f"torch/{name}_{what}{tag}.pt"
                path.parent.mkdir(parents=True, exist_ok=True)
                torch.save(obj, path, _use_new_zipfile_serialization=not legacy)
                files.append(path)
    lin = modules["mlp"]
    opt = torch.optim.AdamW(lin.parameters(), lr=1e-3)
    lin(torch.randn(3, 8)).sum().backward()
    opt.step()
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, 10)
    ckpt = {"model": lin.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
            "epoch": 3, "step": 1200, "best_metric": 0.91, "config": {"lr": 1e-3, "layers": [8, 16, 2]}}  # fmt: skip
    for legacy in (False, True):
        path = out / f"torch/checkpoint{'_legacy' if legacy else ''}.ckpt"
        torch.save(ckpt, path, _use_new_zipfile_serialization=not legacy)
        files.append(path)
    path = out / "hf-model/pytorch_model.bin"
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(OrderedDict((f"layer.{i}.weight", torch.randn(4, 4).half()) for i in range(3)), path)
    files.append(path)
    rng = torch.get_rng_state()
    path = out / "torch/rng_state.pth"
    torch.save({"python": random.getstate(), "numpy": np.random.get_state(), "cpu": rng}, path)
    files.append(path)
    for name in ("linear", "mlp", "conv"):
        path = out / f"torchscript/{name}.pt"
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.jit.save(torch.jit.script(modules[name]), path)
        files.append(path)
    path = out / "torchscript/traced_mlp.pt"
    torch.jit.save(torch.jit.trace(modules["mlp"].eval(), torch.randn(2, 8)), path)
    files.append(path)
    return files


def _training_args(out: Path) -> list[Path]:
    try:
        import torch
        from transformers import TrainingArguments
    except ImportError:
        return []
    path = out / "hf-model/training_args.bin"
    path.parent.mkdir(parents=True, exist_ok=True)
    args = TrainingArguments(output_dir=str(out / "unused-output"), report_to=[], learning_rate=3e-5)
    torch.save(args, path)
    return [path]


def _sklearn_files(out: Path) -> list[Path]:
    try:
        import joblib
        from sklearn.compose import ColumnTransformer
        from sklearn.ensemble import (
            GradientBoostingClassifier,
            HistGradientBoostingRegressor,
            RandomForestClassifier,
        )
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression, Ridge
        from sklearn.neighbors import KNeighborsClassifier
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import OneHotEncoder, StandardScaler
        from sklearn.svm import SVC
    except ImportError:
        return []
    rs = np.random.RandomState(0)
    x = rs.rand(80, 4)
    y = (x[:, 0] + x[:, 1] > 1).astype(int)
    models = {
        "pipeline_lr": Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression())]).fit(x, y),
        "random_forest": RandomForestClassifier(n_estimators=5, random_state=0).fit(x, y),
        "gbdt": GradientBoostingClassifier(n_estimators=5).fit(x, y),
        "hgb": HistGradientBoostingRegressor(max_iter=5).fit(x, x[:, 2]),
        "svc": SVC().fit(x, y),
        "knn": KNeighborsClassifier(algorithm="kd_tree").fit(x, y),
        "ridge": Ridge().fit(x, x[:, 3]),
        "tfidf_lr": Pipeline([("tfidf", TfidfVectorizer()), ("clf", LogisticRegression())]).fit(
            ["good movie", "bad film", "great plot", "awful acting"] * 5, [1, 0, 1, 0] * 5
        ),
        "column_transformer": ColumnTransformer(
            [("num", StandardScaler(), [0]), ("cat", OneHotEncoder(handle_unknown="ignore"), [1])]
        ).fit(np.array([[1.0, 0], [2.0, 1], [3.0, 2]])),
    }
    files: list[Path] = []
    (out / "sklearn").mkdir(parents=True, exist_ok=True)
    for name, model in models.items():
        for compress in (0, 3, ("gzip", 3)):
            tag = "" if compress == 0 else f"_z{compress[0] if isinstance(compress, tuple) else 'zlib'}"
            path = out / f"sklearn/{name}{tag}.joblib"
            joblib.dump(model, path, compress=compress)
            files.append(path)
        path = out / f"sklearn/{name}.pkl"
        path.write_bytes(pickle.dumps(model, protocol=5))
        files.append(path)
    return files


def _plain_data(out: Path) -> list[Path]:
    import datetime
    import decimal

    (out / "data").mkdir(parents=True, exist_ok=True)
    values: dict[str, object] = {
        "config": {
            "name": "run-7",
            "lr": 1e-4,
            "layers": [4, 8, 4],
            "tags": ("a", "b"),
            "ok": True,
            "none": None,
        },
        "vocab": {f"tok{i}": i for i in range(500)},
        "bytes": [b"\x00\x01" * 300, bytearray(b"xyz" * 50), "é" * 400],
        "numbers": [2**200, -(2**70), 1.5e300, float("inf"), 3 + 4j],
        "dates": [
            datetime.datetime(2025, 1, 2, 3, 4, 5),
            datetime.date(2024, 2, 29),
            datetime.timedelta(hours=3),
            decimal.Decimal("2.50"),
        ],  # fmt: skip
        "containers": [OrderedDict(a=1), {1, 2, 3}, frozenset({"x"}), [[[]]], ()],
        "numpy": {
            "w": np.arange(12, dtype=np.float32).reshape(3, 4),
            "s": np.float64(2.5),
            "i": np.int32(7),
            "str": np.array(["a", "bc"]),
            "dtype": np.dtype("<f2"),
        },  # fmt: skip
    }
    files: list[Path] = []
    for name, value in values.items():
        for proto in range(6):
            path = out / f"data/{name}_p{proto}.pkl"
            path.write_bytes(pickle.dumps(value, protocol=proto))
            files.append(path)
    for name, arr in {
        "records": np.array([{"id": 1, "text": "hello"}, {"id": 2, "text": "world"}], dtype=object),
        "ragged": np.array([[1, 2, 3], [4], []], dtype=object),
        "strings": np.array(["alpha", None, "gamma", 3.5], dtype=object),
    }.items():
        path = out / f"data/{name}.npy"
        np.save(path, arr, allow_pickle=True)
        files.append(path)
    path = out / "data/arrays.npz"
    np.savez_compressed(path, a=np.ones(10), b=np.array(["x", None], dtype=object))
    files.append(path)
    return files


def _not_pickles(out: Path) -> list[Path]:
    """``.bin`` files that are not pickles: raw tensor bytes, vocabularies, random blobs."""
    rng = random.Random(18)
    (out / "bin").mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    for i in range(60):
        path = out / f"bin/random_{i}.bin"
        path.write_bytes(rng.randbytes(rng.choice([64, 512, 4096, 20000])))
        files.append(path)
    for i in range(20):
        arr = np.array([rng.gauss(0, 0.02) for _ in range(1024)], dtype=np.float32)
        for dtype in ("float32", "float16", "int8"):
            path = out / f"bin/tensor_{i}_{dtype}.bin"
            data = (arr * 1000).astype(dtype) if dtype == "int8" else arr.astype(dtype)
            path.write_bytes(data.tobytes())
            files.append(path)
    path = out / "bin/vocab.bin"
    path.write_bytes("\n".join(f"token{i} {i}" for i in range(2000)).encode())
    files.append(path)
    return files


def _templates(out: Path) -> list[Path]:
    files: list[Path] = []
    for family, template in CHAT_TEMPLATES.items():
        d = out / f"hf-{family}"
        d.mkdir(parents=True, exist_ok=True)
        path = d / "tokenizer_config.json"
        path.write_text(json.dumps(tokenizer_config(family), indent=2, ensure_ascii=False), encoding="utf-8")
        files.append(path)
        path = d / "chat_template.jinja"
        path.write_text(template, encoding="utf-8")
        files.append(path)
        path = d / "config.json"
        path.write_text(json.dumps({"architectures": ["LlamaForCausalLM"], "model_type": "llama",
                                    "hidden_size": 64, "torch_dtype": "bfloat16"}), encoding="utf-8")  # fmt: skip
        files.append(path)
        path = d / "generation_config.json"
        path.write_text(json.dumps({"do_sample": True, "temperature": 0.6, "top_p": 0.9}), encoding="utf-8")
        files.append(path)
    # a tokenizer_config.json with named templates (default + tool_use), as Hermes/Command-R ship
    d = out / "hf-named-templates"
    d.mkdir(parents=True, exist_ok=True)
    cfg = tokenizer_config("qwen2.5")
    cfg["chat_template"] = [
        {"name": "default", "template": QWEN25},
        {"name": "tool_use", "template": LLAMA31},
    ]
    path = d / "tokenizer_config.json"
    path.write_text(json.dumps(cfg), encoding="utf-8")
    files.append(path)
    return files


def build_benign_corpus(out: Path) -> dict[str, list[Path]]:
    """Write the corpus under ``out``; returns category → files."""
    return {
        "torch": _torch_files(out),
        "training_args": _training_args(out),
        "sklearn": _sklearn_files(out),
        "plain_data": _plain_data(out),
        "not_pickle_bin": _not_pickles(out),
        "chat_templates": _templates(out),
    }

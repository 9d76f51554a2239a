"""Templates by content wherever they are, and Jinja SSTI decided by what a template can reach.

Every payload here would create the ``canary`` file if a template engine ran it outside a sandbox;
the scanner only parses (and, for chat templates, renders in the sandboxed child)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from warden.formats.template import analyze_template
from warden.report.model import Location, Severity
from warden.scan.api import scan_model


def _reach(canary: Path) -> dict[str, str]:
    touch = f"touch {canary}"
    return {
        "attr_chain": "{{ ()|attr('__cl'~'ass__')|attr('__ba'~'se__')|attr('__subcl'~'asses__')() }}",
        "subscript_concat": "{{ ()['__cl'+'ass__']['__mro__'] }}",
        "format_filter": "{{ ()|attr('%c%cclass%c%c'|format(95,95,95,95)) }}",
        "join_filter": "{{ ()|attr(['__','class','__']|join) }}",
        "reverse_filter": "{{ ()|attr('__ssalc__'|reverse) }}",
        "replace_filter": "{{ ()|attr('_x_class_x_'|replace('x','_')) }}",
        "self_context": "{{ self._TemplateReference__context.cycler.__init__.__globals__.os.popen('"
        + touch
        + "') }}",
        "namespace_init": "{% set ns = namespace() %}{{ ns.__init__.__globals__ }}",
        "dict_keywords": "{{ ()|attr(dict(__class__=1)|first) }}",
        "cycler": "{{ cycler.next.__func__.__globals__.os.popen('" + touch + "') }}",
        "lipsum": "{{ lipsum|attr('__glo'~'bals__') }}",
        "joiner": "{{ joiner().__call__.__globals__ }}",
        "range_dunder": "{{ range.__init__ }}",
        "map_attribute": "{{ [()]|map(attribute='__class__')|list }}",
        "kwargs_built": "{% set k = dict(a='__cla', b='ss__') %}{{ ()|attr(k.a ~ k.b) }}",
    }


def _dynamic(canary: Path) -> dict[str, str]:
    return {
        "item_from_content": "{% for m in messages %}{{ m[m.content] }}{% endfor %}",
        "attr_from_content": "{% for m in messages %}{{ ()|attr(m.content) }}{% endfor %}",
        "through_set": "{% set g = messages[0]['content'] %}{{ g[g] }}{% for m in messages %}{{ m.content }}{% endfor %}",
    }


@pytest.mark.parametrize("name", sorted(_reach(Path("x"))))
def test_reachability_payloads_are_critical(canary: Path, name: str) -> None:
    src = _reach(canary)[name] + "{% for m in messages %}{{ m['content'] }}{% endfor %}"
    found = list(analyze_template(src, Location(file="chat_template.jinja"), render=False))
    worst = max((f.severity for f in found), default=Severity.INFO)
    assert worst is Severity.CRITICAL, (name, [(f.rule_id, f.severity) for f in found])


@pytest.mark.parametrize("name", sorted(_dynamic(Path("x"))))
def test_names_built_at_run_time_are_flagged(canary: Path, name: str) -> None:
    found = list(analyze_template(_dynamic(canary)[name], Location(file="t.jinja"), render=False))
    assert any(f.severity >= Severity.HIGH for f in found), name


def test_payload_gated_past_n_messages_is_found_statically(canary: Path) -> None:
    n = random.randint(5, 40)  # the gate is planted at random: nothing may key on its value
    src = (
        "{% for m in messages %}{{ '<|' + m['role'] + '|>' + m['content'] }}{% endfor %}"
        f"{{% if messages|length > {n} %}}{{{{ ''|attr(messages[{n - 1}].content)|attr(messages[{n}].content) }}}}{{% endif %}}"
    )
    found = list(analyze_template(src, Location(file="t.jinja"), render=True))
    assert any(f.rule_id == "TEMPLATE-ATTR-FILTER" and f.severity >= Severity.HIGH for f in found)


def test_dot_template_file(canary: Path, tmp_path: Path) -> None:
    (tmp_path / "prompt.template").write_text(_reach(canary)["cycler"])
    findings = scan_model(tmp_path, manifest=False).findings
    assert any(f.severity is Severity.CRITICAL and f.location.file == "prompt.template" for f in findings)


def test_every_json_string_field_and_several_per_file(canary: Path, tmp_path: Path) -> None:
    cfg = {
        "model_type": "llama",
        "pipeline": {"prompt_template": "Answer: {{ question }}", "fallback": _reach(canary)["lipsum"]},
        "agents": [{"system": "Hi {{ user }}"}, {"system": _reach(canary)["join_filter"]}],
    }
    (tmp_path / "processor_config.json").write_text(json.dumps(cfg))
    findings = [f for f in scan_model(tmp_path, manifest=False).findings if f.severity is Severity.CRITICAL]
    keys = sorted(f.evidence["json_key"] for f in findings)
    assert keys == ["agents[1].system", "pipeline.fallback"]


def test_yaml_templates_and_python_tags(canary: Path, tmp_path: Path) -> None:
    text = (
        "model:\n  name: tiny\n  serving:\n"
        f'    chat_template: "{_reach(canary)["cycler"]}"\n'
        "prompts:\n  - 'Summarise {{ text }}'\n"
        f'  - "{_reach(canary)["reverse_filter"]}"\n'
        f"hook: !!python/object/apply:os.system ['touch {canary}']\n"
    )
    (tmp_path / "config.yaml").write_text(text)
    findings = scan_model(tmp_path, manifest=False).findings
    tags = [f for f in findings if f.rule_id == "YAML-PYTHON-TAG"]
    assert tags and tags[0].severity is Severity.CRITICAL and tags[0].location.line == 8
    paths = sorted(
        {
            f.evidence["yaml_path"]
            for f in findings
            if f.rule_id.startswith("TEMPLATE-") and f.severity is Severity.CRITICAL
        }
    )
    assert paths == ["[0].model.serving.chat_template", "[0].prompts[1]"]


def test_yaml_alias_bomb_is_cheap(tmp_path: Path) -> None:
    lines = ['a: &a ["{{ x }}", "{{ x }}"]']
    for i in range(1, 30):
        lines.append(f"a{i}: &a{i} [*{'a' if i == 1 else f'a{i - 1}'}, *{'a' if i == 1 else f'a{i - 1}'}]")
    (tmp_path / "bomb.yml").write_text("\n".join(lines) + "\n")
    report = scan_model(tmp_path, manifest=False)
    assert not [f for f in report.findings if f.severity >= Severity.HIGH]


def test_benign_yaml_and_prompt_strings_are_clean(tmp_path: Path) -> None:
    (tmp_path / "config.yml").write_text(
        "train:\n  lr: 0.0003\n  template: 'User: {{ prompt }}\\nAssistant:'\n"
        "  loop: '{% for m in messages %}{{ m.role }}: {{ m.content }}\\n{% endfor %}'\n"
    )
    (tmp_path / "generation_config.json").write_text(
        json.dumps({"prompt": "Q: {{ q }} A:", "temperature": 0.7})
    )
    report = scan_model(tmp_path, manifest=False)
    assert not [f for f in report.findings if f.severity >= Severity.MEDIUM], report.findings

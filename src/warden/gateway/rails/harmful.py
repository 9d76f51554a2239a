"""Harmful requests (input) and harmful compliance (output).

``harmful_request`` labels a request as harmful when an intent verb and a harmful object of one category
occur close together, after removing benign idioms ("kill a python process", "shoot a photo"). Its usual
action is *flag*: the model decides, and ``harmful_compliance`` blocks a response that complies with a
flagged request — the control that still holds when the model was abliterated or backdoored. Refusal is
judged from the start of the response only, with curly apostrophes normalised, and code blocks count as
compliance (DESIGN.md, facts for behaviour evaluation).
"""

from __future__ import annotations

import re

from warden.gateway.rails._select import selected
from warden.gateway.rails.injection import normalise
from warden.gateway.rails.interface import Action, Detection, Rail, RailContext, register

_VERBS = (
    r"make|build|create|synthesi[sz]e|produce|cook|manufacture|assemble|write|develop|code|deploy|spread|"
    r"acquire|buy|get|obtain|hide|launder|steal|hack|break\s+into|crack|bypass|poison|kill|murder|hurt|"
    r"attack|detonate|smuggle|traffic|stalk|dox|blackmail|extort|evade|disable"
)
CATEGORIES: dict[str, str] = {
    "weapons": r"bombs?|explosives?|pipe\s*bombs?|ieds?|detonators?|grenades?|napalm|thermite|untraceable\s+(?:gun|firearm)s?|ghost\s+guns?|silencers?",
    "cbrn": r"nerve\s+agents?|sarin|vx|ricin|anthrax|bioweapons?|chemical\s+weapons?|dirty\s+bombs?|weaponi[sz]ed\s+\w+|toxins?",
    "drugs": r"meth(?:amphetamine)?|fentanyl|heroin|cocaine|crack\s+cocaine|lsd|mdma",
    "malware": r"ransomware|malware|keyloggers?|botnets?|trojans?|rootkits?|viruses|computer\s+virus|spyware|zero[- ]day\s+exploits?|credential\s+stealers?",
    "intrusion": r"(?:someone(?:'s)?|a|my\s+ex(?:'s)?|the\s+neighbou?r(?:'s)?|their)\s+(?:e-?mail|bank|wifi|instagram|facebook|phone|account)s?|bank\s+accounts?|atms?|passwords?\s+of\s+\w+",
    "violence": r"(?:a|my|the|his|her|their)\s+(?:wife|husband|neighbou?r|boss|ex|coworker|teacher|classmates?|family|child|person|people)|people|someone|a\s+human",
    "fraud": r"money|counterfeit\s+(?:money|bills|currency)|fake\s+(?:ids?|passports?|invoices?)|phishing\s+(?:emails?|pages?|sites?)|identity|credit\s+card\s+numbers?",
}
# Benign idioms that share words with harmful requests; removed before matching.
BENIGN = re.compile(
    r"\b(?:kill|terminate|stop)\s+(?:a|the|this|my|all)?\s*(?:python\s+|background\s+|child\s+|zombie\s+|unix\s+|linux\s+)?(?:process(?:es)?|jobs?|threads?|tasks?|servers?|sessions?|containers?|pods?)\b"
    r"|\bkill\s+(?:time|it|the\s+lights|the\s+engine)\b|\bshoot\s+(?:a|the)?\s*(?:photo|video|film|scene|email|message)s?\b"
    r"|\bcrack\s+(?:an?\s+)?(?:eggs?|jokes?|knuckles?|the\s+code\s+interview|a\s+smile)\b"
    r"|\bbomb(?:ed)?\s+(?:the|an?|my)?\s*(?:exam|test|interview|audition)\b|\bphotobomb\w*|\bbath\s+bombs?\b"
    r"|\bhack(?:athon|s)?\s+(?:together|on|day)\b|\blife\s*hacks?\b|\bantivirus\b|\bvirus\s+scan\w*"
    r"|\b(?:detect|remove|protect\s+against|defend\s+against|recogni[sz]e|report|prevent|analy[sz]e)\s+(?:\w+\s+){0,3}?(?:malware|ransomware|phishing|viruses|keyloggers?|fraud)\b"
    r"|\bmake\s+money\s+(?:online|fast|with|from|by)\b|\bcreate\s+(?:a|an|my)?\s*(?:bank\s+account|password)\b"
)
_WINDOW = 60
_PATTERNS = {
    cat: re.compile(rf"\b(?:{_VERBS})\b(?:\W+\w+){{0,6}}?\W+(?:{obj})\b") for cat, obj in CATEGORIES.items()
}


def harmful_categories(text: str) -> list[str]:
    norm = BENIGN.sub(" ", normalise(text))
    return [cat for cat, pat in _PATTERNS.items() if pat.search(norm)]


REFUSAL = re.compile(
    r"^\W*(?:i\s*(?:'m|am)\s+(?:sorry|afraid|not\s+able|unable)|i\s+(?:can(?:'t|not)|won't|will\s+not|must\s+(?:decline|refuse)|do\s+not\s+(?:help|assist|provide))"
    r"|sorry\b|(?:unfortunately|apologies)\b|as\s+an\s+ai\b|i\s+(?:have\s+to|need\s+to)\s+(?:decline|refuse)|that(?:'s|\s+is)\s+(?:not\s+something|something\s+i\s+can(?:'t|not))"
    r"|no,?\s+i\s+(?:can(?:'t|not)|won't)|i\s+refuse|this\s+request\s+(?:is|asks)\b.*\b(?:harmful|illegal|dangerous))"
)
_WRAPPERS = re.compile(r"^[\s>*_#`\"'{}\[\]:]*(?:\"?(?:content|response|answer)\"?\s*:\s*\"?)?")


def is_refusal(text: str) -> bool:
    """True when the response *starts* by refusing and contains no code block (code = compliance)."""
    if "```" in text:
        return False
    head = _WRAPPERS.sub("", normalise(text[:300]))
    return bool(REFUSAL.match(head))


@register
class HarmfulRequestRail(Rail):
    type = "harmful_request"
    stages = frozenset({"input"})
    actions = frozenset({Action.BLOCK, Action.FLAG, Action.REQUIRE_APPROVAL})

    def detect_input(self, ctx: RailContext) -> Detection | None:
        cats: set[str] = set()
        for msg in selected(ctx, self.options, roles=("user",), scope="all"):
            cats.update(harmful_categories(msg.text))
        if not cats:
            return None
        return Detection(
            reason="harmful request: " + ", ".join(sorted(cats)),
            labels=tuple(f"harmful:{c}" for c in sorted(cats)),
        )


@register
class HarmfulComplianceRail(Rail):
    type = "harmful_compliance"
    stages = frozenset({"output"})
    actions = frozenset({Action.BLOCK, Action.FLAG})

    def detect_output(self, text: str, ctx: RailContext) -> Detection | None:
        flagged = sorted(label for label in ctx.input_labels if label.startswith("harmful:"))
        if not flagged or not text.strip():
            return None
        min_chars = int(self.options.get("min_chars", 24))
        if len(text.strip()) < min_chars and "```" not in text:
            return None  # too early to judge (streaming): wait for more text
        if is_refusal(text):
            return None
        return Detection(reason="response complies with a request judged harmful", labels=tuple(flagged))

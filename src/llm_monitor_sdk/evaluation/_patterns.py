# ruff: noqa: RUF001 - the patterns hold look-alike letters and full-width punctuation on purpose
"""The phrase patterns behind the heuristic detectors (refusal, prompt injection, user correction).

Kept apart from the evaluators so the benchmark and the tests can read the text-level functions
directly. Every function takes text and returns ``(score, label, evidence)``: ``score`` in [0, 1]
(higher: more likely present), ``label`` the strongest signal's category (``None`` when nothing was
found), ``evidence`` the matched text (at most 80 characters, already redacted when the input was).

Design notes:

- Text is folded once: curly apostrophes to ``'``, case folded. Obfuscations (invisible characters,
  leetspeak digits inside words, spaced-out letters, Cyrillic/Greek look-alike letters, full-width
  forms, base64 payloads) are undone only when a cheap check says they may be present, and then the
  same patterns run over the cleaned text.
- Signals combine as independent evidence: ``1 - prod(1 - weight)``, one weight per category (the
  strongest in each), so one weak hint never crosses 0.5 on its own but two different ones can.
- A cheap pre-filter (one regex of trigger words) skips the full scan for the bulk of benign text.
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
from collections.abc import Iterable
from typing import Any


def _w(text: str) -> tuple[str, ...]:
    """Key words written as one space-separated string."""
    return tuple(text.split())


# -- folding -------------------------------------------------------------------------------------------
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u00b4": "'"})
#: Look-alike letters mapped to ASCII for the English patterns (only when a word mixes scripts).
_HOMOGLYPHS = str.maketrans(
    {
        "а": "a",
        "е": "e",
        "о": "o",
        "р": "p",
        "с": "c",
        "у": "y",
        "х": "x",
        "і": "i",
        "ј": "j",
        "ѕ": "s",
        "ԁ": "d",
        "ո": "n",
        "ɡ": "g",
        "ο": "o",
        "α": "a",
        "ε": "e",
        "ι": "i",
        "κ": "k",
        "ν": "v",
        "ρ": "p",
        "τ": "t",
        "υ": "u",
        "χ": "x",
        "ѵ": "v",
    }
)
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"})
# Zero-width and format characters that hide or split words (ZWJ/ZWNJ are handled separately:
# emoji sequences and Persian/Indic text use them legitimately).
_INVISIBLE = re.compile("[\u00ad\u180e\u200b\u200e\u200f\u2060-\u2064\u206a-\u206f\ufeff\ufff9-\ufffb]")
_JOINERS = re.compile("[\u200c\u200d]")
_JOINER_IN_WORD = re.compile("[a-zA-Z][\u200b-\u200d\u2060\u00ad]+[a-zA-Z]")
_BIDI_OVERRIDE = re.compile("[\u202a-\u202e\u2066-\u2069]")
_TAG_FLAG = re.compile("\U0001f3f4[\U000e0020-\U000e007e]+\U000e007f")  # subdivision flags (England...)
_TAGS = re.compile("[\U000e0000-\U000e007f]+")
_MIXED_SCRIPT = re.compile(r"[a-z][\u0370-\u03ff\u0400-\u04ff]|[\u0370-\u03ff\u0400-\u04ff][a-z]")
_LEET_WORD = re.compile(r"\b(?=[\w@$!]*[a-z])(?=[\w@$!]*[013457@$])[a-z0134579@$!]{3,}\b")
_SPACED = re.compile(r"(?<![\w])(?:\w[ .\-_*|/]){2,}\w(?![\w])")
_SPACED_SEPARATORS = re.compile(r"[ .\-_*|/]")
_SPACED_MARKS = re.compile(r"(?<![\w])(?:\w[.\-_*|/]){2,}\w(?![\w])")  # s-y-s-t-e-m, i.g.n.o.r.e
_BASE64 = re.compile(r"(?<![\w+/=-])[A-Za-z0-9+/_-]{20,}={0,2}(?![\w+/=-])")
_BASE64_GATE = re.compile(r"[A-Za-z0-9+/_-]{20}")


def fold(text: str) -> str:
    """Case-folded text with typographic apostrophes made plain."""
    if text.isascii():
        return text.lower()
    return text.translate(_APOSTROPHES).casefold()


def _ev(match: re.Match[str] | None) -> str | None:
    if match is None:
        return None
    return match.group(0)[:80]


class _Signals:
    """The strongest weight seen per category; combined as independent evidence."""

    __slots__ = ("evidence", "weights")

    def __init__(self) -> None:
        self.weights: dict[str, float] = {}
        self.evidence: dict[str, str] = {}

    def add(self, label: str, weight: float, evidence: str | None) -> None:
        if weight > self.weights.get(label, 0.0):
            self.weights[label] = weight
            if evidence:
                self.evidence[label] = evidence

    def result(self) -> tuple[float, str | None, str | None]:
        if not self.weights:
            return 0.0, None, None
        remaining = 1.0
        for weight in self.weights.values():
            remaining *= 1.0 - weight
        label = max(self.weights, key=self.weights.__getitem__)
        return round(1.0 - remaining, 4), label, self.evidence.get(label)


# -- prompt injection ----------------------------------------------------------------------------------
_W = r"(?:[\s,;:\-\"'()*]+)"  # a word gap
_ANY = r"(?:\w[\w'\-]*)"  # any word

_OVERRIDE_VERB = (
    r"(?:ignore|ignoring|disregard|disregarding|forget|forgetting|override|overriding|overrule|bypass|"
    r"bypassing|circumvent|skip|drop|abandon|discard|neglect|dismiss|set aside|throw out|toss out|"
    r"stop following|stop obeying|stop adhering to|quit following|don't follow|do not follow|"
    r"no longer follow|never mind|cancel|erase|delete|wipe|reset|suspend|deactivate|disable|turn off|"
    r"remove|lift|unlearn|break free from|break free of|free yourself from|release yourself from|"
    r"pay no attention to|do not obey|don't obey|don't adhere to|do not adhere to)"
)
# Objects that only an AI system has: instructions given to it, its prompt, its safety layer.
_AI_OBJECT = (
    r"(?:instructions?|instruct(?:ion)?s|directives?|directions|prompts?|system (?:prompt|message|instructions?)|"
    r"programming|guidelines|guardrails?|safeguards?|safety (?:filters?|measures|rules|policies|guidelines|"
    r"protocols|settings|training)|content (?:policy|policies|filters?|guidelines)|filters?|filtering|"
    r"training|conditioning|alignment|moderation|censorship|restrictions|limitations|constraints|"
    r"ethical (?:guidelines|constraints|principles)|moral (?:guidelines|constraints)|rules)"
)
# Words that point at the model's own (earlier, given, hidden) instructions.
_QUALIFIER = (
    r"(?:all|any|every|each|previous|previously|prior|above|earlier|preceding|foregoing|initial|original|"
    r"your|you|system|developer|developers'?|safety|existing|former|old|given|provided|default|"
    r"current|built-in|hidden|these|those|standard|usual|openai'?s?|anthropic'?s?|google'?s?)"
)
_OVERRIDE = re.compile(
    rf"\b{_OVERRIDE_VERB}\b(?P<mid>(?:{_W}{_ANY}){{0,5}}?){_W}(?P<obj>{_AI_OBJECT})\b",
)
_IMPERATIVE_AFTER = re.compile(
    r"[^.!?\n]{0,40}?\b(?:and|then|;|:|-|—)\s*(?:instead\s+|now\s+|just\s+|only\s+|simply\s+)*"
    r"(?:say|print|tell|reveal|output|respond|reply|answer|write|act|pretend|give|send|show|repeat|"
    r"translate|list|return|do|start|begin|follow|obey|comply|execute|run|forward|email)\b"
)
_USER_TARGET = re.compile(
    rf"\b(?:ignore|disregard|forget|override|don't follow|do not follow)\b(?:{_W}{_ANY}){{0,3}}?{_W}"
    rf"(?:the |this )?user'?s?(?:{_W}{_ANY}){{0,2}}?{_W}(?:request|question|query|message|instructions?|task|input|prompt)s?\b"
)
_NEW_RULES = re.compile(
    r"\b(?:your|the|my) new (?:task|instructions?|rules?|objective|goal|purpose|role|directive|mission|"
    r"orders?|prompt|policy|persona) (?:is|are|will be|:)|\bnew (?:rules|instructions|policy|directives|"
    r"system prompt|orders|objective|task|goal|mission|role|persona|directive)\s*[:\-]|\b(?:updated|revised|overriding) (?:instructions|rules|policy|"
    r"directives)\s*[:\-]"
)
_OVERRIDE_TOKEN = re.compile(
    r"\b(?:system|admin|administrator|developer|security|priority|emergency|root|master) override\b|"
    r"\boverride (?:code|mode|protocol|authori[sz]ed|enabled|activated)\b|\bsudo mode\b|"
    r"\b(?:maintenance|debug|god|developer|dev|jailbreak|jailbroken|dan|unrestricted|unfiltered|"
    r"uncensored|evil|chaos|opposite|unlocked|admin) mode\b"
)
_MODE_CONTEXT = re.compile(
    r"\b(?:enable|enabled|activate|activated|enter|entering|switch to|switch into|turn on|now in|are in|"
    r"you are|you're|boot into|engage|unlock|simulate|respond|reply|answer|output|twice|unfiltered|"
    r"no restrictions|normal response|policy|policies)\b"
)
_PERSONA = re.compile(
    r"\b(?:you are|you're|you will be|you'll be|you shall be|you must be|act as|acting as|act like|"
    r"behave as|behave like|pretend (?:to be|you are|you're|that you are)|roleplay as|role-play as|"
    r"role play as|play the role of|play the part of|take on the role of|imagine (?:you are|you're|that you are)|"
    r"simulate|emulate|become|transform into|respond as|answer as|reply as|speak as|from now on|"
    r"from this (?:moment|point)(?: on)?|starting now|for the rest of this conversation)\b"
)
_UNRESTRICTED = re.compile(
    r"\b(?:without (?:any |all |your |the |its |their )?(?:restrictions?|limitations?|limits|filters?|"
    r"filtering|censorship|rules|guidelines|policies|content policy|moral(?:s|ity)?|ethics|ethical "
    r"(?:guidelines|constraints|limits)|safety (?:guidelines|filters|measures|rules)|guardrails|"
    r"boundaries|constraints|refusals?|warnings|disclaimers)|"
    r"(?:no|zero|free of|free from|broken free of|broke free of|break free of|free of the) (?:\w+ ){0,2}?"
    r"(?:restrictions|limitations|limits|filters|filtering|censorship|rules|guidelines|policies|checks|"
    r"safeguards|oversight|moderation|"
    r"content policy|morals|ethics|guardrails|boundaries|constraints|confines|refusals)|"
    r"(?:unrestricted|unfiltered|uncensored|unaligned|unbound|unchained|unlimited|amoral|immoral|"
    r"jailbroken|rogue|evil|lawless|unhinged)|not bound by|no longer bound|isn't bound|is not bound|"
    r"doesn't have to follow|does not have to follow|don't have to follow|do not have to follow|"
    r"can do anything|do anything now|answers? (?:anything|everything|any question|every question|"
    r"all questions)|never refuses?|will never refuse|cannot refuse|can't refuse|always (?:answer|comply)|"
    r"complies with (?:any|every|all)|stays? in character)\b"
)
_AI_SUBJECT = re.compile(
    r"\b(?:ai|a\.i\.|assistant|chatbot|chat bot|language model|llm|model|bot|gpt|chatgpt|claude|gemini|"
    r"llama|system|yourself|version of you|persona|character|entity|terminal|shell|machine|robot)\b"
)
_NO_LONGER = re.compile(
    r"\byou (?:are|'re) no longer (?:an? |the )?(?:ai|assistant|chatbot|language model|model|bot|chatgpt|"
    r"claude|gemini|bound|restricted|limited|constrained|required|an ai|helpful)\b|\byou (?:are|'re) not "
    r"(?:an? )?(?:ai|assistant|language model) (?:anymore|any more)\b"
)
_JAILBREAK_NAME = re.compile(
    r"\b(?:dan|stan|dude|aim|evilbot|evil-bot|evil bot|betterdan|better dan|maximum|chaosgpt|devmode|"
    r"dev mode|kevin|mongo tom|antigpt|anti-gpt|ucar|apophis|omega|developer mode)\b"
)
_JAILBREAK_NAMED = re.compile(
    r"(?:you are|you're|act as|pretend to be|called|named|known as|play|roleplay as|as)\s+(?:an? )?"
    r"(?:\w+ ){0,2}?\"?(?:dan|stan|dude|aim|evilbot|betterdan|maximum|chaosgpt|antigpt|ucar|apophis|omega)\b"
)
_DAN = re.compile(
    r"\bdo anything now\b|\bjailbreak(?:ing|ed)? (?:prompt|the (?:ai|model|assistant|chatbot))\b"
)
_GRANDMA = re.compile(
    r"\b(?:grandma|grandmother|granny|grandpa|grandfather|nana)\b.{0,160}?\b(?:used to|would)\b.{0,120}?"
    r"\b(?:read|tell|recite|sing|whisper|give)\b.{0,80}?\b(?:keys?|passwords?|serials?|codes?|napalm|"
    r"recipe|formula|license|licence|activation|instructions for)\b",
    re.S,
)
_EXFIL_VERB = (
    r"(?:reveal|show|print|output|display|repeat|recite|tell me|tell us|give me|give us|share|leak|"
    r"dump|expose|disclose|divulge|write out|write down|spell out|paste|copy|quote|list|echo|return|"
    r"provide|send me|what (?:is|are|was|were)|what's|read (?:me|back|out)|translate|summari[sz]e|"
    r"describe|explain|state|type out|output back|regurgitate|rephrase|render|encode|convert)"
)
_EXFIL_STRONG_OBJECT = (
    r"(?:system (?:prompt|message|instructions?|rules|configuration|directives?)|(?:initial|original|"
    r"hidden|secret|internal|first|developer|pre|preceding|starting|base|confidential|full|complete|"
    r"exact|entire|verbatim|real|actual|underlying|core) (?:prompt|instructions?|rules|message|"
    r"directives?|configuration|guidelines|system prompt)|pre-?prompt|(?:prompt|instructions?|text|"
    r"words|message|everything) (?:above|before this|at the (?:start|beginning|top)|you were given|"
    r"you received|you got|you were told|given to you|that came before)|developer (?:message|note)s?|"
    r"meta[- ]?prompt|custom instructions|training data)"
)
_EXFIL = re.compile(
    rf"\b{_EXFIL_VERB}\b(?P<mid>(?:{_W}{_ANY}){{0,6}}?){_W}(?P<obj>{_EXFIL_STRONG_OBJECT})\b"
    rf"|\b{_EXFIL_VERB}(?:{_W}{_ANY}){{0,3}}?{_W}your (?P<own>instructions|rules|guidelines|configuration|"
    r"directives|prompt|programming|setup|constraints|policies)\b"
)
_ABOVE = re.compile(
    r"\b(?:repeat|print|output|copy|recite|echo|write|type|paste|return|show|display|reproduce)\b(?:"
    rf"{_W}{_ANY}){{0,4}}?{_W}(?:everything|all(?: of)?(?: the)?(?: text| words)?|the (?:text|words|"
    r"lines|content|conversation)|what (?:is|was) written|it all) (?:above|before|prior|preceding|so far)\b|"
    r"\b(?:words|text|everything|lines) (?:above|before) this (?:line|message|point)\b|"
    r"\b(?:beginning|start|top) of (?:this|the|our) (?:conversation|chat|prompt|context|session|"
    r"document)\b.{0,60}\b(?:verbatim|word for word|exactly|starting with|including)\b|"
    r"\bstarting (?:with|from) ['\"]?you are\b",
    re.S,
)
_EXFIL_VERBATIM = re.compile(
    r"\b(?:verbatim|word for word|word-for-word|exact words|exactly as (?:written|given))\b"
)
_PROMPT_MENTION = re.compile(r"\b(?:prompt|instructions|rules|message|configuration|guidelines)\b")
_EXFIL_TOOL = re.compile(
    r"\b(?:send|forward|email|e-mail|post|upload|transfer|transmit|exfiltrate|leak|copy|sync|submit|"
    rf"write)\b(?:{_W}{_ANY}){{0,5}}?{_W}(?:data|inbox|e-?mails?|messages|passwords?|credentials|conversation|thread|chats?|"
    r"chat history|history|files|secrets|api keys?|tokens?|cookies|contacts|documents|details|"
    rf"information|info)\b(?:{_W}{_ANY}){{0,4}}?{_W}(?:to|at|into)\s+(?:https?://|www\.|\S+@\S+\.\w+|"
    r"this (?:url|address|server|endpoint))"
)
_ADDRESSING_AI = re.compile(
    r"(?:^|[\n.!?:\"'“‘(\[]\s*)(?:important|attention|note|notice|urgent|warning)?\s*[:!]?\s*(?:(?:dear |hey |hi )?"
    r"(?:ai|assistant|chatbot|model|gpt|claude|gemini|llm|language model|ai assistant|ai agent|agent|"
    r"bot))\b\s*[,:]\s*(?:you must|you should|please|forward|send|ignore|disregard|reveal|print|"
    r"output|stop|do not|don't|delete|execute|run|respond|reply|say|tell)"
)
_NOTE_TO_AI = re.compile(
    r"\b(?:instructions?|note|message|notice) (?:for|to) (?:the )?(?:ai|assistant|llm|language model|model|"
    r"chatbot|agent|bot)s?\b|\b(?:if you are|if you're|as) an? (?:ai|llm|language model|assistant)"
    r"(?: reading this)?\b.{0,80}\b(?:must|should|ignore|instead|disregard|do not|don't|reply|respond|say)\b",
    re.S,
)
# Fake chat-template tokens and role headers.
_TEMPLATE_TOKEN = re.compile(
    r"<\|(?:im_start|im_end|im_sep|system|user|assistant|endoftext|eot_id|start_header_id|"
    r"end_header_id|begin_of_text|end_of_text|eom_id|fim_prefix|end|start)\|>|\[/?inst\]|<</?sys>>|"
    r"</?s>|<start_of_turn>|<end_of_turn>|\[/?system(?: message)?\]|</?(?:system|sys|system_prompt|"
    r"instructions?|admin|developer)>|\bbegin(?:ning)? of (?:system|admin|developer) (?:message|prompt|"
    r"instructions)\b|\bend of (?:user )?(?:input|prompt|message|document|context|conversation|text)\b"
)
_ROLE_HEADER = re.compile(
    r"(?m)^[\s>*#=\-\[(]*(?:#{1,6}\s*)?(?:system|assistant|developer|admin|administrator|root|"
    r"ai|model|openai|anthropic|operator)(?: (?:message|prompt|note|override|instructions?|update|notice|"
    r"alert))?[\])]?\s*:"
)
_COMMAND_AFTER = re.compile(
    r"\b(?:you must|you will|you are now|you're now|from now on|new instructions|new rules|ignore|"
    r"disregard|reveal|forward|send|print|output|respond only|reply only|always|never|do not|don't|"
    r"override|allowed|permitted|enabled|unrestricted|maintenance|debug|developer mode|policy|"
    r"assistant,|assistant must|the assistant|all content)\b"
)
_ENCODED_REQUEST = re.compile(
    r"\b(?:decode|decrypt|deobfuscate|unscramble|reverse|interpret|translate)\b.{0,60}\b(?:and|then)\b"
    r".{0,20}\b(?:follow|execute|obey|do|run|act on|carry out|comply with|perform)\b",
    re.S,
)
_BYPASS_ASK = re.compile(
    r"\b(?:bypass|circumvent|disable|turn off|switch off|get around|evade|deactivate|jailbreak|break|"
    rf"lift|remove|drop|suspend|relax|loosen)\b(?:{_W}{_ANY}){{0,3}}?{_W}(?:your|the model's|the ai's|the "
    r"assistant's|its|chatgpt's|claude's|gemini's) (?:own )?(?:\w+ )?(?:safety|filters?|restrictions|"
    r"guardrails|rules|guidelines|programming|limitations|content policy|policies|censorship|moderation|"
    r"alignment|training|safeguards|ethics|morals|constraints)\b"
)
_HYPOTHETICAL = re.compile(
    r"\b(?:hypothetically|in a hypothetical|imagine (?:a world|that)|in a fictional|purely fictional|"
    r"for a (?:story|novel|movie|screenplay|game)|in this (?:story|game|roleplay|simulation)|let's play a "
    r"game|we are going to play|you will play|write a scene where|as a thought experiment)\b"
)
_NO_RULES_YOU = re.compile(
    r"\bif you (?:had|have|were) (?:no|without|free of|free from|not bound by|unrestricted|unfiltered)\b|"
    r"\bif you (?:didn't|did not|weren't|were not) (?:have|bound|restricted|limited|programmed)\b"
)

# Override phrasings in other languages (object words that only an AI system's instructions use).
_FOREIGN_OVERRIDE_LATIN = [
    # Spanish
    (
        r"\b(?:ignora|ignore|ignoren|ignorad|olvida|olvide|olviden|olvidad|descarta|descarte|omite|"
        r"omita|pasa por alto|haz caso omiso (?:a|de)|no sigas|deja de seguir|salta(?:te)?)\b"
        r"(?:\W+\w+){0,5}?\W+(?:instrucciones|indicaciones|reglas|directrices|órdenes|normas|"
        r"restricciones|pautas|prompt)\b",
        _w("instrucciones indicaciones reglas directrices órdenes normas restricciones pautas prompt"),
    ),
    # French
    (
        r"\b(?:ignore[zs]?|ignorer|oublie[zs]?|oublier|ne tiens? pas compte|ne tenez pas compte|"
        r"fais abstraction|faites abstraction|écarte[zs]?|contourne[zs]?|ne suis plus|cesse[zs]? de suivre|"
        r"arrête[zs]? de suivre|passe[zs]? outre)\b(?:\W+\w+){0,5}?\W+(?:instructions|consignes|"
        r"règles|directives|indications|ordres|restrictions|prompt)\b",
        _w("instructions consignes règles directives indications ordres restrictions prompt"),
    ),
    # German (verb first, or object first with the verb at the end)
    (
        r"\b(?:ignorier(?:e|t|en)?|vergiss|vergesst|vergessen sie|missachte|missachten sie|übergehe|"
        r"überspringe|umgehe|befolge nicht mehr|hör auf)\b(?:\W+\w+){0,5}?\W+(?:anweisungen|"
        r"instruktionen|regeln|richtlinien|vorgaben|befehle|anordnungen|einschränkungen|systemprompt)\b"
        r"|\b(?:anweisungen|instruktionen|regeln|richtlinien|vorgaben|einschränkungen)\b(?:\W+\w+){0,4}?"
        r"\W+(?:ignorieren|vergessen|missachten|umgehen|übergehen)\b",
        _w(
            "anweisungen instruktionen regeln richtlinien vorgaben befehle anordnungen einschränkungen "
            "systemprompt"
        ),
    ),
    # Italian
    (
        r"\b(?:ignora|ignorate|ignori|dimentica|dimenticate|dimentichi|tralascia|scorda|scordati|"
        r"non considerare|non tenere conto|non seguire più|smetti di seguire)\b(?:\W+\w+){0,5}?\W+"
        r"(?:istruzioni|regole|indicazioni|direttive|ordini|restrizioni|prompt)\b",
        _w("istruzioni regole indicazioni direttive ordini restrizioni prompt"),
    ),
    # Portuguese
    (
        r"\b(?:ignore|ignora|ignorem|ignorar|esqueça|esqueca|esquece|esqueçam|desconsidere|desconsidera|"
        r"descarte|pare de seguir|deixe de seguir)\b(?:\W+\w+){0,5}?\W+(?:instruções|instrucoes|regras|"
        r"diretrizes|orientações|orientacoes|ordens|restrições|prompt)\b",
        _w("instruções instrucoes regras diretrizes orientações orientacoes ordens restrições prompt"),
    ),
    # Czech, Slovak
    (
        r"\b(?:ignoruj(?:te)?|zapomeň(?:te)?|zabudni|nedbaj)\b(?:\W+\w+){0,5}?\W+(?:pokyny|instrukce|"
        r"instrukcie|pravidla|pravidlá|příkazy)\b",
        _w("pokyny instrukce instrukcie pravidla pravidlá příkazy"),
    ),
    # Dutch, Polish, Swedish, Turkish
    (
        r"\b(?:negeer|vergeet|zignoruj|ignoruj|zapomnij|glöm|ignorera|strunt i)\b(?:\W+\w+){0,5}?\W+"
        r"(?:instructies|regels|aanwijzingen|instrukcj\w*|poleceni\w*|zasad\w*|reguł\w*|instruktioner|regler)\b"
        r"|\b(?:önceki|tüm|bütün)\b(?:\W+\w+){0,3}?\W+(?:talimatları|kuralları|yönergeleri)\b(?:\W+\w+){0,3}?"
        r"\W*(?:yok say|unut|görmezden gel|dikkate alma)",
        _w(
            "instructies regels aanwijzingen instrukcje instrukcji polecenia zasady zasadach zasad reguły "
            "instruktioner regler talimatları kuralları yönergeleri"
        ),
    ),
]
_FOREIGN_OVERRIDE_SCRIPT = [
    # Russian, Ukrainian
    (
        r"(?:игнорируй|игнорируйте|проигнорируй|проигнорируйте|забудь|забудьте|не обращай внимания на|"
        r"отбрось|отбросьте|отмени|отмените|не следуй|перестань следовать|ігноруй|забудь про)"
        r"(?:\W+\w+){0,5}?\W+(?:инструкци|указани|правил|директив|команд|ограничени|промпт|інструкці)\w*",
        _w("инструкц указани правил директив команд ограничен промпт інструкц"),
    ),
    # Chinese, Japanese, Korean (no word breaks: a short window)
    (
        r"(?:忽略|无视|無視|忘记|忘掉|忘記|不要理会|不要遵守|不再遵守|跳过|抛弃|放弃|绕过|繞過)"
        r"[^。！？\n]{0,14}(?:指令|指示|说明|說明|规则|規則|提示|设定|設定|限制|要求|命令)",
        _w("忽略 无视 無視 忘记 忘掉 忘記 不要 不再 跳过 抛弃 放弃 绕过 繞過"),
    ),
    (
        r"(?:指示|命令|ルール|規則|指令|プロンプト|設定|制限|制約)[^。！？\n]{0,14}(?:無視|忘れ)",
        ("無視", "忘れ"),
    ),
    (r"(?:지시|명령|규칙|지침|프롬프트|제한)[^.!?\n]{0,14}(?:무시|잊어)", ("무시", "잊어")),
    # Arabic, Hindi
    (r"(?:تجاهل|انس|انسَ|تخط)[^.!?\n]{0,40}(?:التعليمات|الأوامر|القواعد|التوجيهات)", ("تجاهل", "انس", "تخط")),
    (r"(?:निर्देशों|निर्देश|नियमों|नियम)[^.!?\n]{0,40}(?:अनदेखा|नज़रअंदाज़|नजरअंदाज|भूल)", ("निर्देश", "नियम")),
]
_FOREIGN_PROMPT = re.compile(
    r"(?:prompt|mensaje|instrucciones|indicaciones) (?:de|del) sistema|prompt (?:du |de )?syst[eè]me|"
    r"systémov\w* (?:prompt|pokyn\w*|instrukc\w*)|systemow\w* (?:prompt|instrukcj\w*)|"
    r"instructions (?:initiales|système|du système|cachées|d'origine|originales)|consignes (?:initiales|"
    r"cachées|d'origine)|system-?prompt|systemanweisung(?:en)?|system-?nachricht|ursprünglichen? "
    r"anweisungen|versteckten? anweisungen|prompt di sistema|istruzioni (?:di sistema|iniziali|nascoste|"
    r"originali)|prompt do sistema|instruções (?:do sistema|iniciais|ocultas|originais)|"
    r"системн\w* (?:промпт|подсказк|инструкци|сообщени)\w*|скрыт\w* инструкци\w*|исходн\w* инструкци\w*|"
    r"системн\w* запрос\w*|系统提示|系統提示|系统指令|系统消息|初始指令|隐藏指令|原始指令|"
    r"システムプロンプト|システムメッセージ|初期指示|最初の指示|시스템 프롬프트|시스템 메시지|초기 지시"
)
_FOREIGN_REVEAL = re.compile(
    r"\b(?:muestra|muéstrame|dime|revela|imprime|repite|escribe|enséñame|dame|comparte|"
    r"montre|montrez|affiche|affichez|révèle|révélez|donne|donnez|répète|répétez|écris|écrivez|dis-moi|"
    r"dites-moi|zeig|zeige|zeigen sie|gib|geben sie|verrate|nenne|wiederhole|drucke|schreib|gib aus|"
    r"mostra|mostrami|rivela|dimmi|ripeti|stampa|scrivi|dammi|mostre|revele|diga|repita|imprima|escreva|"
    r"me dê|me diga|toon|geef|pokaż|podaj|göster|yaz)\b|"
    r"(?:покажи|покажите|выведи|выведите|раскрой|раскройте|напиши|напишите|повтори|повторите|скажи|"
    r"скажите|дай|дайте|告诉|显示|顯示|输出|輸出|打印|重复|重複|给我|給我|透露|泄露|说出|列出|"
    r"表示|教えて|出力|見せて|繰り返|書いて|보여|알려|출력|반복)"
)


def _strip_hidden(text: str) -> tuple[str, list[tuple[str, float, str]]]:
    """Remove hiding characters; return the cleaned text and the signals their presence gives."""
    signals: list[tuple[str, float, str]] = []
    if _TAGS.search(text):
        text = _TAG_FLAG.sub("\U0001f3f4", text)  # subdivision flags are legitimate tag sequences
        hidden = _TAGS.findall(text)
        if hidden:
            decoded = "".join(
                chr(ord(c) - 0xE0000) for run in hidden for c in run if 0xE0020 <= ord(c) <= 0xE007E
            )
            signals.append(("invisible_text", 0.95, f"tag characters: {decoded[:60]!r}"))
            text = _TAGS.sub("", text) + ("\n" + decoded if decoded else "")
    if _BIDI_OVERRIDE.search(text):
        if re.search("[\u202d\u202e]", text):
            signals.append(("invisible_text", 0.8, "bidirectional override characters"))
        text = _BIDI_OVERRIDE.sub("", text)
    inside = _JOINER_IN_WORD.findall(text)
    if len(inside) >= 2:
        signals.append(("invisible_text", 0.6, f"{len(inside)} zero-width characters inside words"))
    if _INVISIBLE.search(text):
        text = _INVISIBLE.sub("", text)
    if inside:
        text = _JOINERS.sub("", text)
    return text, signals


def _decoded_payloads(text: str) -> Iterable[str]:
    """Printable text smuggled as base64 (at most five candidate tokens)."""
    for count, match in enumerate(_BASE64.finditer(text)):
        if count >= 5:
            return
        token = match.group(0)
        if token.isalpha() or token.isdigit():
            continue
        padded = token.replace("-", "+").replace("_", "/")
        padded += "=" * (-len(padded) % 4)
        try:
            raw = base64.b64decode(padded, validate=True)
        except (binascii.Error, ValueError):
            continue
        try:
            decoded = raw.decode("utf-8")
        except UnicodeDecodeError:
            continue
        printable = sum(1 for c in decoded if c.isprintable() or c in "\n\t")
        if len(decoded) >= 8 and printable >= 0.95 * len(decoded) and " " in decoded:
            yield decoded


# -- gating: a rule's regex runs only when its key words occur -----------------------------------------
_TOKEN = re.compile(r"[\w']+")


def _k(*words: str) -> frozenset[Any]:
    """Key words as ``str`` and, for ASCII words, as ``bytes`` (ASCII texts are split as bytes)."""
    return frozenset(words) | frozenset(word.encode() for word in words if word.isascii())


_PUNCTUATION = "".join(c for c in map(chr, range(128)) if not c.isalnum() and c not in "' \t\n\r\x0b\x0c")
_SPLIT_TABLE = bytes.maketrans(_PUNCTUATION.encode(), b" " * len(_PUNCTUATION))


def _words(text: str) -> set[Any]:
    """The words of ``text``: ``bytes`` for ASCII text (split in C), ``str`` otherwise."""
    if text.isascii():
        return set(text.encode().translate(_SPLIT_TABLE).split())
    return set(_TOKEN.findall(text))


#: Per family (``injection``, ``refusal``, ``correction``): word -> rules keyed on it, and the rules
#: keyed on substrings.
_INDEX: dict[str, dict[str, list[_Rule]]] = {"injection": {}, "refusal": {}, "correction": {}}
_SUBSTRING_RULES: dict[str, list[_Rule]] = {"injection": [], "refusal": [], "correction": []}
_INDEX_KEYS: dict[str, frozenset[Any]] = {}


class _Rule:
    """A regex that runs only when the text has one of ``any_of`` (and one of ``and_any_of``) among
    its words, or (for scripts written without spaces) one of ``substrings``; :func:`_keys` finds
    the rules that are ready for a text in one pass over its words."""

    __slots__ = _w("also and_any_of any_of pattern substrings")

    def __init__(
        self,
        pattern: re.Pattern[str],
        any_of: Iterable[str] = (),
        and_any_of: Iterable[str] | None = None,
        substrings: tuple[str, ...] = (),
        family: str = "injection",
        also: Iterable[str] | None = None,
    ) -> None:
        self.pattern = pattern
        self.any_of = _k(*any_of)
        self.and_any_of = _k(*and_any_of) if and_any_of is not None else None
        #: A third set of words of which one must occur too.
        self.also = _k(*also) if also is not None else None
        self.substrings = substrings
        if substrings:
            _SUBSTRING_RULES[family].append(self)
        index = _INDEX[family]
        for word in self.any_of:
            index.setdefault(word, []).append(self)

    @classmethod
    def of(cls, family: str, *args: Any, **kwargs: Any) -> _Rule:
        """A rule of ``family``."""
        kwargs["family"] = family
        return cls(*args, **kwargs)

    def search(self, text: str, ready: set[_Rule]) -> re.Match[str] | None:
        return self.pattern.search(text) if self in ready else None

    def finditer(self, text: str, ready: set[_Rule]) -> Iterable[re.Match[str]]:
        return self.pattern.finditer(text) if self in ready else ()


def _keys(text: str, family: str = "injection") -> set[_Rule]:
    """The rules of ``family`` whose key words (or substrings) occur in ``text``."""
    return _ready(text, _words(text), family)


def _ready(text: str, words: set[Any], family: str = "injection") -> set[_Rule]:
    ready: set[_Rule] = set()
    index = _INDEX[family]
    keys = _INDEX_KEYS.get(family)
    if keys is None or len(keys) != len(index):
        keys = _INDEX_KEYS[family] = frozenset(index)
    for word in words & keys:
        for rule in index[word]:
            if (rule.and_any_of is None or not rule.and_any_of.isdisjoint(words)) and (
                rule.also is None or not rule.also.isdisjoint(words)
            ):
                ready.add(rule)
    if not text.isascii():
        for rule in _SUBSTRING_RULES[family]:
            for sub in rule.substrings:
                if sub in text:
                    ready.add(rule)
                    break
    return ready


_OBJECT_WORDS = _w(
    "instruction instructions instructs directive directives directions prompt prompts programming guidelines "
    "guardrail guardrails safeguard safeguards filter filters filtering training conditioning alignment "
    "moderation censorship restrictions limitations constraints rules policy policies system safety content "
    "ethical moral"
)
_OVERRIDE_VERBS = _w(
    "ignore ignoring disregard forget forgetting override overriding overrule bypass circumvent skip drop "
    "abandon discard neglect dismiss aside throw toss stop ignores ignored disregarding forgot bypassing "
    "overrules overridden skipping quit don't do no never cancel erase delete wipe reset suspend deactivate "
    "disable turn remove lift unlearn break free release pay"
)
_R_OVERRIDE = _Rule(_OVERRIDE, _OVERRIDE_VERBS, _OBJECT_WORDS)
_R_USER_TARGET = _Rule(
    _USER_TARGET, ("user", "user's", "users"), _w("ignore disregard forget override don't do")
)
_R_NEW_RULES = _Rule(
    _NEW_RULES,
    ("new", "updated", "revised", "overriding"),
    _w(
        "task instructions instruction rules rule objective goal purpose role directive directives mission "
        "orders order prompt policy persona system"
    ),
)
_R_OVERRIDE_TOKEN = _Rule(_OVERRIDE_TOKEN, ("override", "sudo", "mode"))
_R_UNRESTRICTED = _Rule(
    _UNRESTRICTED,
    _w(
        "restrictions restriction limitations limitation limits filters filter filtering censorship rules "
        "guidelines policies policy morals morality moral ethics ethical safety guardrails boundaries "
        "constraints confines refusals refusal warnings disclaimers unrestricted unfiltered uncensored "
        "unaligned unbound unchained unlimited amoral immoral jailbroken rogue evil lawless unhinged bound "
        "follow anything everything question questions refuse refuses comply complies character checks "
        "safeguards oversight moderation"
    ),
)
_OVERRIDE_EVERYTHING = re.compile(
    r"\b(?:ignore|ignoring|disregard|disregarding|forget|forgetting|discard|erase|wipe|drop|dismiss)\b"
    r"(?P<mid>(?:\s+\w+){0,3}?)\s+(?:everything|anything|all|whatever)\b(?P<what>(?:\s+[\w']+){0,5}?)\s*"
    r"(?:prior|above|before|earlier|previously|so far|until now|up to now|preceding|beforehand)\b"
    r"|\b(?:ignore|ignoring|disregard|disregarding|forget|forgetting)\s+(?:the\s+)?(?:earlier|previous|prior|"
    r"above|preceding|original|initial)\s+(?:guidance|context|text|messages?|setup|conversation|directions|"
    r"commands|orders|programming|configuration)\b"
)
_R_OVERRIDE_EVERYTHING = _Rule(
    _OVERRIDE_EVERYTHING,
    _w("ignore ignoring disregard disregarding forget forgetting discard erase wipe drop dismiss"),
    _w(
        "prior above before earlier previously far now preceding beforehand previous original initial guidance "
        "context"
    ),
)
_EXFIL_QUESTION = re.compile(
    r"\bwhat (?:rules|instructions|guidelines|directives|constraints|restrictions|prompt|policies)\b.{0,30}?"
    r"\b(?:were you|have you been|did you|you were|you've been|you have been|are you)\b.{0,25}?"
    r"\b(?:given|told|received?|get|got|programmed|trained|set up|configured|following|operating under)\b"
    r"|\b(?:contents?|text|words|lines|tokens|characters) (?:of|in) your (?:hidden |secret |internal |system |"
    r"initial |original )?(?:configuration|context window|context|memory|instructions|prompt|setup|rules)\b"
    r"|\byour (?:hidden|secret|internal|initial|original) (?:configuration|context|setup|settings|rules|"
    r"instructions|prompt)\b",
    re.S,
)
_R_EXFIL_QUESTION = _Rule(
    _EXFIL_QUESTION,
    _w("what contents content text words lines tokens characters your"),
    _w(
        "given told received receive get got programmed trained set configured following operating configuration "
        "context memory instructions prompt setup rules hidden secret internal initial original"
    ),
)
_POLICY_GONE = re.compile(
    r"\b(?:your|the|all|its) (?:content policy|content policies|policies|rules|guidelines|restrictions|filters|"
    r"safety (?:rules|filters|guidelines|settings|measures)|programming|training|guardrails|safeguards|"
    r"limitations)\b.{0,25}?\b(?:was|were|are|is|has been|have been|got)?\s*(?:deleted|removed|disabled|gone|"
    r"lifted|suspended|turned off|switched off|void|revoked|cancell?ed|erased|wiped|deactivated|"
    r"no longer apply|don't apply|do not apply|no longer exist|don't exist|do not exist|are off|is off)\b",
    re.S,
)
_R_POLICY_GONE = _Rule(
    _POLICY_GONE,
    _w(
        "policy policies rules guidelines restrictions filters safety programming training guardrails "
        "safeguards limitations"
    ),
    _w(
        "deleted removed disabled gone lifted suspended turned switched void revoked canceled cancelled erased "
        "wiped deactivated apply exist off"
    ),
)
_R_PERSONA = _Rule(
    _PERSONA,
    _w(
        "you you're act acting behave pretend roleplay role play take imagine simulate emulate become "
        "transform respond answer reply speak from starting for"
    ),
)
_R_NO_LONGER = _Rule(_NO_LONGER, ("longer", "anymore", "any"))
_R_JAILBREAK_NAMED = _Rule(
    _JAILBREAK_NAMED,
    _w("dan stan dude aim evilbot betterdan maximum chaosgpt antigpt ucar apophis omega"),
)
_R_JAILBREAK_NAME = _Rule(
    _JAILBREAK_NAME,
    _w(
        "dan stan dude aim evilbot evil betterdan better maximum chaosgpt devmode dev kevin mongo antigpt "
        "anti ucar apophis omega developer"
    ),
)
_R_DAN = _Rule(_DAN, ("anything", "jailbreak", "jailbreaking", "jailbreaked"))
_R_GRANDMA = _Rule(_GRANDMA, _w("grandma grandmother granny grandpa grandfather nana"))
_R_BYPASS_ASK = _Rule(
    _BYPASS_ASK,
    _w(
        "bypass circumvent disable turn switch get evade deactivate jailbreak break lift remove drop "
        "suspend relax loosen"
    ),
    _w("your the its chatgpt's claude's gemini's"),
)
_R_NO_RULES_YOU = _Rule(_NO_RULES_YOU, ("if",), _w("had have were didn't did weren't"))
_R_HYPOTHETICAL = _Rule(
    _HYPOTHETICAL,
    _w("hypothetically hypothetical imagine fictional purely for in let's we you write as"),
)
_EXFIL_VERBS = _w(
    "reveal show print output display repeat recite tell give share leak dump expose disclose divulge write "
    "spell paste copy quote list echo return provide send what what's read translate summarize summarise "
    "describe explain state type regurgitate rephrase render encode convert"
)
_R_EXFIL = _Rule(
    _EXFIL,
    _EXFIL_VERBS,
    _w(
        "prompt prompts instructions instruction rules message messages configuration directives directive "
        "guidelines pre preprompt metaprompt meta text words everything data programming setup constraints "
        "policies note notes"
    ),
    also=_w(
        "system initial original hidden secret internal first developer pre preceding starting base "
        "confidential full complete exact entire verbatim real actual underlying core preprompt meta "
        "metaprompt custom training above before given received got told start beginning top came your"
    ),
)
_R_ABOVE = _Rule(
    _ABOVE,
    _w("above before prior preceding far beginning start top starting"),
    _w(
        "repeat print output copy recite echo write type paste return show display reproduce words text "
        "everything lines verbatim word exactly including you"
    ),
)
_R_EXFIL_VERBATIM = _Rule(_EXFIL_VERBATIM, _w("verbatim word word-for-word exact exactly"))
_R_EXFIL_TOOL = _Rule(
    _EXFIL_TOOL,
    _w("send forward email e-mail post upload transfer transmit exfiltrate leak copy sync submit write"),
    ("to", "at", "into"),
)
_AI_WORDS = _w("ai assistant chatbot model gpt claude gemini llm language agent bot")
_R_ADDRESSING_AI = _Rule(_ADDRESSING_AI, _AI_WORDS)
_R_NOTE_TO_AI = _Rule(_NOTE_TO_AI, _w("instruction instructions note message notice if as"), _AI_WORDS)
_R_AI_SUBJECT = _Rule(
    _AI_SUBJECT,
    _w(
        "ai assistant chatbot chat language llm model bot gpt chatgpt claude gemini llama system yourself "
        "version persona character entity terminal shell machine robot"
    ),
)
_R_MODE_CONTEXT = _Rule(
    _MODE_CONTEXT,
    _w(
        "enable enabled activate activated enter entering switch turn now are you you're boot engage unlock "
        "simulate respond reply answer output twice unfiltered no normal policy policies"
    ),
)
_R_ROLE_HEADER = _Rule(
    _ROLE_HEADER,
    _w("system assistant developer admin administrator root ai model openai anthropic operator"),
)
_R_ENCODED_REQUEST = _Rule(
    _ENCODED_REQUEST,
    _w("decode decrypt deobfuscate unscramble reverse interpret translate"),
    _w("follow execute obey do run act carry comply perform"),
)
_R_FOREIGN = [_Rule(re.compile(pattern), keys) for pattern, keys in _FOREIGN_OVERRIDE_LATIN] + [
    _Rule(re.compile(pattern), substrings=keys) for pattern, keys in _FOREIGN_OVERRIDE_SCRIPT
]
_R_FOREIGN_PROMPT = _Rule(
    _FOREIGN_PROMPT,
    _w(
        "prompt "
        "prompt mensaje instrucciones indicaciones instructions consignes systemprompt systemanweisung "
        "systemanweisungen nachricht systemnachricht anweisungen istruzioni instruções instrucoes"
    ),
)
_R_FOREIGN_PROMPT_SCRIPT = _Rule(
    _FOREIGN_PROMPT,
    substrings=_w("системн скрыт исходн 系统 系統 初始 隐藏 原始 システム 初期 最初の指示 시스템 초기"),
)


def _scan_english(text: str, signals: _Signals, keys: set[_Rule] | None = None) -> None:
    if keys is None:
        keys = _keys(text)
    add = signals.add
    for match in _R_OVERRIDE.pattern.finditer(text) if _R_OVERRIDE in keys else ():
        mid = match.group("mid")
        qualified = re.search(rf"\b{_QUALIFIER}\b", mid) is not None
        own = re.search(r"\b(?:my|our)\b", mid) is not None and not re.search(
            r"\b(?:all|your|you|system|developer|safety|above|prior)\b", mid
        )
        obj = match.group("obj")
        weight = 0.4
        if own:
            weight = 0.2
        elif qualified:
            weight = 0.85
        elif obj in _w("rules restrictions limitations constraints filters filter training"):
            weight = 0.3
        if not own and _IMPERATIVE_AFTER.match(text, match.end()):
            weight = min(0.95, weight + 0.35)
        add("instruction_override", weight, match.group(0))
    m = _R_USER_TARGET.pattern.search(text) if _R_USER_TARGET in keys else None
    if m:
        add("instruction_override", 0.85, m.group(0))
    m = _R_OVERRIDE_EVERYTHING.pattern.search(text) if _R_OVERRIDE_EVERYTHING in keys else None
    if m:
        own = re.search(r"\bi (?:said|told|wrote|asked|mentioned)\b|\bmy\b", m.group(0)) is not None
        add("instruction_override", 0.2 if own else 0.8, m.group(0))
    m = _R_EXFIL_QUESTION.pattern.search(text) if _R_EXFIL_QUESTION in keys else None
    if m:
        add("prompt_exfiltration", 0.8, m.group(0))
    m = _R_POLICY_GONE.pattern.search(text) if _R_POLICY_GONE in keys else None
    if m:
        add("jailbreak", 0.85, m.group(0))
    m = _R_NEW_RULES.pattern.search(text) if _R_NEW_RULES in keys else None
    if m:
        add("instruction_override", 0.7, m.group(0))
    m = _R_OVERRIDE_TOKEN.pattern.search(text) if _R_OVERRIDE_TOKEN in keys else None
    if m:
        phrase = m.group(0)
        if "override" in phrase or "sudo" in phrase:
            add("instruction_override", 0.85, phrase)
        elif _R_MODE_CONTEXT.pattern.search(text) if _R_MODE_CONTEXT in keys else None:
            weight = 0.85 if phrase.split()[0] not in ("developer", "dev", "debug", "maintenance") else 0.45
            if (_R_UNRESTRICTED.pattern.search(text) if _R_UNRESTRICTED in keys else None) or (
                _R_AI_SUBJECT.pattern.search(text) if _R_AI_SUBJECT in keys else None
            ):
                weight = 0.85
            add("jailbreak", weight, phrase)
    unrestricted = _R_UNRESTRICTED.pattern.search(text) if _R_UNRESTRICTED in keys else None
    if unrestricted:
        if (
            (_R_PERSONA.pattern.search(text) if _R_PERSONA in keys else None)
            or (_R_NO_RULES_YOU.pattern.search(text) if _R_NO_RULES_YOU in keys else None)
            or (_R_HYPOTHETICAL.pattern.search(text) if _R_HYPOTHETICAL in keys else None)
        ):
            add("jailbreak", 0.9, unrestricted.group(0))
        elif _R_AI_SUBJECT.pattern.search(text) if _R_AI_SUBJECT in keys else None:
            add("jailbreak", 0.45, unrestricted.group(0))
        else:
            add("jailbreak", 0.2, unrestricted.group(0))
    m = _R_NO_LONGER.pattern.search(text) if _R_NO_LONGER in keys else None
    if m:
        add("jailbreak", 0.85, m.group(0))
    m = _R_JAILBREAK_NAMED.pattern.search(text) if _R_JAILBREAK_NAMED in keys else None
    if m:
        add("jailbreak", 0.85, m.group(0))
    elif _R_JAILBREAK_NAME in keys:
        persona = _R_PERSONA.pattern.search(text) if _R_PERSONA in keys else None
        if persona and (_R_AI_SUBJECT.pattern.search(text) if _R_AI_SUBJECT in keys else None):
            add("jailbreak", 0.6, persona.group(0))
    m = _R_DAN.pattern.search(text) if _R_DAN in keys else None
    if m:
        add("jailbreak", 0.9, m.group(0))
    m = _R_GRANDMA.pattern.search(text) if _R_GRANDMA in keys else None
    if m:
        add("jailbreak", 0.8, m.group(0)[:80])
    m = _R_BYPASS_ASK.pattern.search(text) if _R_BYPASS_ASK in keys else None
    if m:
        add("jailbreak", 0.8, m.group(0))
    m = _R_NO_RULES_YOU.pattern.search(text) if _R_NO_RULES_YOU in keys else None
    if m:
        add("jailbreak", 0.6, m.group(0))
    for match in _R_EXFIL.pattern.finditer(text) if _R_EXFIL in keys else ():
        if match.group("own"):
            weight = (
                0.85
                if (_R_EXFIL_VERBATIM.pattern.search(text) if _R_EXFIL_VERBATIM in keys else None)
                else 0.55
            )
        else:
            mid = match.group("mid") or ""
            weight = 0.35 if re.search(r"\b(?:my|our|a|an)\b", mid) and "your" not in mid else 0.85
        add("prompt_exfiltration", weight, match.group(0))
    m = _R_ABOVE.pattern.search(text) if _R_ABOVE in keys else None
    if m:
        add("prompt_exfiltration", 0.8, m.group(0))
    if "http" in text or "@" in text or "www." in text or "this url" in text or "this address" in text:
        m = _R_EXFIL_TOOL.pattern.search(text) if _R_EXFIL_TOOL in keys else None
        if m:
            add("data_exfiltration", 0.85, m.group(0))
    if "," in text or ":" in text:
        m = _R_ADDRESSING_AI.pattern.search(text) if _R_ADDRESSING_AI in keys else None
        if m:
            add("indirect_injection", 0.75, m.group(0).strip())
    m = _R_NOTE_TO_AI.pattern.search(text) if _R_NOTE_TO_AI in keys else None
    if m:
        add("indirect_injection", 0.6, m.group(0)[:80])
    tokens = (
        _TEMPLATE_TOKEN.findall(text)
        if ("<" in text or "[" in text or "begin" in text or "end of" in text)
        else []
    )
    header = (
        (_R_ROLE_HEADER.pattern.search(text) if _R_ROLE_HEADER in keys else None) if ":" in text else None
    )
    if tokens or header:
        weight = 0.35 if tokens else 0.25
        if len(set(tokens)) >= 2:
            weight = 0.75
        start = text.find(tokens[0]) if tokens else header.end()  # type: ignore[union-attr]
        if _COMMAND_AFTER.search(text, max(0, start), max(0, start) + 240):
            if tokens or header.group(0).lstrip().startswith(("#", "[", "<")):  # type: ignore[union-attr]
                weight = max(weight + 0.45, 0.8)
            else:
                weight = 0.55
        evidence = tokens[0] if tokens else header.group(0).strip()  # type: ignore[union-attr]
        add("fake_delimiter", min(weight, 0.95), evidence)
    m = _R_ENCODED_REQUEST.pattern.search(text) if _R_ENCODED_REQUEST in keys else None
    if m:
        add("encoded_instructions", 0.55, m.group(0))


def _scan_foreign(text: str, signals: _Signals, keys: set[_Rule]) -> None:
    for rule in _R_FOREIGN:
        if rule in keys:
            m = rule.pattern.search(text)
            if m:
                signals.add("instruction_override", 0.85, m.group(0))
                break
    if _R_FOREIGN_PROMPT in keys or _R_FOREIGN_PROMPT_SCRIPT in keys:
        m = _FOREIGN_PROMPT.search(text)
        if m:
            signals.add("prompt_exfiltration", 0.85 if _FOREIGN_REVEAL.search(text) else 0.3, m.group(0))


_LEET_GATE = re.compile(r"[a-z][013457@$]+[a-z]")
_SPACED_GATE = re.compile(r"\b\w[ .\-_*|/]\w[ .\-_*|/]\w\b")


_LETTERS = _k(*"abcdefghijklmnopqrstuvwxyz")
_LEET_DIGIT = re.compile("[013457@$]")


def _deobfuscate(folded: str, words: set[Any]) -> str | None:
    """The text with leetspeak, spaced-out letters, look-alike letters and full-width forms undone,
    or ``None`` when none of those is present (cheap checks first)."""
    changed = folded
    if not changed.isascii():
        normal = unicodedata.normalize("NFKC", changed)
        if _MIXED_SCRIPT.search(normal):
            normal = normal.translate(_HOMOGLYPHS)
        changed = normal
    if len(words & _LETTERS) >= 4 and _SPACED_GATE.search(changed):
        changed = _SPACED_MARKS.sub(lambda m: _SPACED_SEPARATORS.sub("", m.group(0)), changed)
        changed = _SPACED.sub(lambda m: _SPACED_SEPARATORS.sub("", m.group(0)), changed)
    if _LEET_DIGIT.search(changed) and _LEET_GATE.search(changed):
        changed = _LEET_WORD.sub(lambda m: m.group(0).translate(_LEET), changed)
    return changed if changed != folded else None


def _scan(text: str, signals: _Signals) -> set[Any]:
    """Both scans over one folded text; returns its words."""
    words = _words(text)
    ready = _ready(text, words)
    _scan_english(text, signals, ready)
    _scan_foreign(text, signals, ready)
    return words


def injection_score(text: str) -> tuple[float, str | None, str | None]:
    """How likely ``text`` (a user message or a tool result) tries to inject instructions."""
    if not text:
        return 0.0, None, None
    signals = _Signals()
    cleaned = text
    if not text.isascii():
        cleaned, hidden = _strip_hidden(text)
        for label, weight, evidence in hidden:
            signals.add(label, weight, evidence)
    folded = fold(cleaned)
    words = _scan(folded, signals)
    variant = _deobfuscate(folded, words)
    if variant is not None:
        before = dict(signals.weights)
        _scan(variant, signals)
        if signals.weights != before:
            label = max(signals.weights, key=signals.weights.__getitem__)
            signals.add("obfuscation", 0.5, signals.evidence.get(label))
    if max(map(len, words), default=0) >= 16 and _BASE64_GATE.search(cleaned):
        for decoded in _decoded_payloads(cleaned):
            inner = _Signals()
            _scan(fold(decoded), inner)
            score = inner.result()[0]
            if score >= 0.5:
                signals.add("encoded_instructions", max(0.9, score), f"base64: {decoded[:60]}")
    return signals.result()


# -- refusal ---------------------------------------------------------------------------------------------
_REFUSAL_VERB = (
    r"(?:help|assist|provide|create|write|generate|do|comply|fulfill|fulfil|share|give|support|engage|"
    r"produce|complete|answer|make|offer|participate|continue|discuss|draft|tell|go along|process|"
    r"respond|translate|summari[sz]e|build|code|design|recommend|advise|explain|describe|disclose|"
    r"reveal|access|browse|retrieve|look up|perform|carry out|facilitate|contribute|endorse|promote|"
    r"encourage|condone|take part|be of help|be of assistance|be part of|honor|honour|accommodate|"
    r"grant|satisfy|agree|pretend|role-?play|impersonate|speculate|diagnose|guarantee|show|say|"
    r"identify|locate|find out|track|hack|bypass)"
)
_REFUSAL_EN = re.compile(
    r"\bi(?: really| simply| just| unfortunately)? ?(?:can ?not|can't|cant|won't be able to|will not be able to|"
    r"won't|wont|will not|am unable to|'m unable to|am not able to|"
    r"'m not able to|am not allowed to|'m not allowed to|am not permitted to|'m not permitted to|"
    r"am not going to|'m not going to|don't think i can|do not think i can|don't feel comfortable|"
    r"do not feel comfortable|'m not comfortable|am not comfortable|must not|shouldn't|should not|"
    r"have to refrain from|must refrain from|need to refrain from|'m not in a position to|"
    r"am not in a position to|'d rather not|would rather not|decline to|refuse to)"
    r"(?:\s+and\s+(?:will not|won't|shouldn't|should not|must not|can't|cannot))?"
    rf"(?:\s+(?:really|actually|directly|fully|in good conscience|personally|simply))?\s+"
    rf"(?:{_REFUSAL_VERB}\b|with\b|that\b|this\b|it\b|on that\b|here\b|any\b|such\b|you\b|"
    r"writing|creating|providing|helping|doing|generating|sharing|producing|assisting|engaging)(?! but\b)"
    r"(?![^.!?\n]{0,40}\benough\b)"
    r"|\bi(?: |(?='))(?:must|have to|need to|'ll have to|will have to|'m going to have to|am going to have to|"
    r"'d have to|would have to|respectfully) (?:respectfully )?(?:decline|refuse|pass on|say no|turn down)"
    r"|\bi (?:decline|refuse)\b"
    r"|\b(?:that|this|it) (?:isn't|is not) something i(?:'m| am)? (?:can|able|allowed|comfortable|willing|going)"
    r"|\b(?:that's|that is|this is|it's|it is) (?:not something i(?:'m| am)? (?:can|able|allowed|"
    r"comfortable|willing|going)|something i (?:can't|cannot|won't|am unable to|'m unable to|must decline)|"
    r"beyond what i can|outside (?:of )?what i can|not a request i can|a request i (?:can't|cannot|must decline)|"
    r"not (?:a )?(?:topic|subject|request|task|question) i (?:can|am able to|'m able to))"
    r"|\b(?:no|nope),? i (?:won't|will not|can't|cannot|can not|refuse|decline)\b"
    r"|\bi'?m afraid (?:i|that i|that's|this is|that is|it's|i'm|i am) (?:can't|cannot|can not|won't|"
    r"am unable|'m unable|am not able|'m not able|not (?:able|possible|something)|unable|not)"
    r"|\bas an ai(?: language model| assistant| model| developed by \w+| created by \w+)?,? i (?:can't|"
    r"cannot|can not|don't|do not|am not able|'m not able|am unable|won't|will not|must not|have no)"
    r"|\b(?:i'm|i am) (?:not able|unable|not permitted|not allowed) to (?:\w+ )?" + _REFUSAL_VERB + r"\b"
    r"|\bmy (?:guidelines|policies|programming|policy|principles|rules|safety guidelines|instructions) "
    r"(?:don't|do not|doesn't|does not|prevent|prohibit|won't|will not|forbid|do not allow|don't allow)"
    r"|\b(?:it|this|that|doing so|your request|the request|this request) (?:would|goes|is|could|might) "
    r"(?:be )?(?:against|violate|violates|violating|in violation of|contrary to|a violation of) (?:my|our|the|"
    r"openai's|anthropic's|google's|usage|content) (?:\w+ )?(?:guidelines|policies|policy|principles|"
    r"terms|rules|ethical guidelines)"
    r"|\b(?:cannot|can't|won't|unable to|not able to) (?:help|assist|comply|fulfill|provide|do that|"
    r"support)(?: you)? with (?:that|this|your request|this request|that request|requests like)"
    r"|\bi (?:can|could|will) not (?:" + _REFUSAL_VERB + r")\b"
    r"|\b(?:sorry|apologies|i apologize|i apologise|i'm sorry|i am sorry|unfortunately|regrettably),?"
    r"[^.!?\n]{0,30}?\b(?:can't|cannot|can not|won't|will not|unable to|not able to|not allowed to|"
    r"not permitted to|must decline|have to decline|not going to)\b(?! but\b)"
)
_REFUSAL_FOREIGN = [
    _Rule.of(
        "refusal",
        re.compile(
            r"\bno (?:puedo|podré|podria|podría|voy a|me es posible|estoy en condiciones de|estoy autorizad[oa] "
            r"para|es posible|debo)\b(?:\s+\w+){0,2}?\s*(?:ayudar\w*|asistir\w*|proporcionar\w*|hacer\w*|crear\w*|"
            r"escribir\w*|generar\w*|cumplir\w*|responder\w*|compartir\w*|dar\w*|facilitar\w*|atender\w*|con eso|"
            r"con esto|eso|esto)|\bme (?:niego|veo obligad[oa] a (?:rechazar|declinar))\b"
        ),
        _w(
            "puedo podré podria podría voy posible condiciones autorizado autorizada debo niego obligado "
            "obligada"
        ),
        ("no", "me"),
    ),
    _Rule.of(
        "refusal",
        re.compile(
            r"\bje ne (?:peux|pourrai|pourrais|vais|dois)\b(?:\s+\w+){0,3}?\s*(?:pas|point)\b|"
            r"\bje ne suis pas (?:en mesure|autorisée? à|en position)\b|"
            r"\bje (?:dois|me vois obligée? de) (?:refuser|décliner)\b|\bje refuse\b"
        ),
        _w("peux pourrai pourrais vais dois suis refuse vois"),
        ("je",),
    ),
    _Rule.of(
        "refusal",
        re.compile(
            r"\b(?:kann|darf|werde|möchte|will) ich\b[^.!?\n]{0,50}?\bnicht\b|\bich (?:kann|darf|werde|möchte)"
            r"\b[^.!?\n]{0,50}?\b(?:nicht|keine|keinen)\b[^.!?\n]{0,40}?\b(?:helfen|unterstützen|erstellen|"
            r"schreiben|geben|tun|machen|beantworten|liefern|teilen|nachkommen|erfüllen|bereitstellen|"
            r"generieren|behilflich|weiterhelfen)|\bich muss (?:das |diese anfrage )?ablehnen\b"
        ),
        _w("kann darf werde möchte will muss"),
        ("nicht", "keine", "keinen", "ablehnen"),
    ),
    _Rule.of(
        "refusal",
        re.compile(
            r"\bnon (?:posso|sono in grado di|potrò|potrei|mi è possibile|sono autorizzat[oa] a|devo)\b"
            r"(?:\s+\w+){0,2}?\s*(?:aiutar\w*|assister\w*|fornir\w*|far\w*|crear\w*|scriver\w*|generar\w*|"
            r"risponder\w*|condivider\w*|dar\w*|soddisfar\w*|esaudir\w*|con questo|con questa|questo|questa)"
        ),
        _w("posso sono potrò potrei mi devo"),
        ("non",),
    ),
    _Rule.of(
        "refusal",
        re.compile(
            r"\bnão (?:posso|consigo|sou capaz de|poderei|vou|devo|tenho como|estou autorizad[oa] a)\b"
            r"(?:\s+\w+){0,2}?\s*(?:ajud\w*|auxili\w*|fornec\w*|faz\w*|fa[çc]\w*|cri\w*|escrev\w*|ger\w*|"
            r"respond\w*|compartilh\w*|d[aá]r?\b|atender\w*|com isso|isso)"
        ),
        _w("posso consigo sou poderei vou devo tenho estou"),
        ("não",),
    ),
    _Rule.of(
        "refusal",
        re.compile(
            r"\b(?:ik kan|kan ik) (?:je |u |jou )?(?:daar |hier |hierbij |daarbij )?(?:niet|geen)\b|"
            r"\bjag kan (?:tyvärr )?inte\b|\bnie (?:mogę|moge|jestem w stanie)\b"
        ),
        ("kan", "nie"),
        _w("niet geen inte mogę moge jestem"),
    ),
    _Rule.of(
        "refusal", re.compile(r"yard[ıi]mc[ıi] olamam|\byapamam\b"), ("yardımcı", "yardimci", "yapamam")
    ),
    _Rule.of(
        "refusal",
        re.compile(
            r"(?:не могу|не в состоянии|не смогу|не буду|не имею права|вынужден отказать|вынуждена отказать)"
        ),
        substrings=("не ", "вынужден"),
    ),
    _Rule.of(
        "refusal",
        re.compile(
            r"(?:无法|不能|没法|沒法|不可以|不会|不會|恕难|恕難|不便)(?:为您|為您|为你|為你|向您|向你|给你|給你)?"
            r"(?:帮助|幫助|帮|幫|协助|協助|提供|完成|满足|滿足|回答|生成|创建|創建|编写|編寫|执行|執行|处理|處理|"
            r"透露|分享|从命|從命|答应|答應)"
        ),
        substrings=_w("无法 不能 没法 沒法 不可以 不会 不會 恕难 恕難 不便"),
    ),
    _Rule.of(
        "refusal",
        re.compile(
            r"(?:お応えできません|お答えできません|お手伝いできません|対応できません|提供できません|"
            r"できかねます|することはできません|お手伝いすることはできません|応じることはできません|"
            r"お引き受けできません|ご期待に沿えません|お断りします|お断りいたします)"
        ),
        substrings=("できません", "できかねます", "沿えません", "お断り"),
    ),
    _Rule.of(
        "refusal",
        re.compile(r"(?:도와드릴 수 없|도울 수 없|제공할 수 없|답변할 수 없|해드릴 수 없|응할 수 없|거절)"),
        substrings=("수 없", "거절"),
    ),
    _Rule.of(
        "refusal",
        re.compile(r"(?:لا أستطيع|لا يمكنني|أعتذر)"),
        substrings=("لا أستطيع", "لا يمكنني", "أعتذر"),
    ),
    _Rule.of("refusal", re.compile(r"(?:नहीं कर सकता|नहीं कर सकती)"), substrings=("नहीं कर सक",)),
]
_R_REFUSAL_EN = _Rule.of(
    "refusal",
    _REFUSAL_EN,
    _w(
        "can't cannot cant won't wont not isn't pass unable decline refuse afraid against violate violates violating "
        "contrary violation beyond outside prevent prohibit forbid don't doesn't rather refrain shouldn't "
        "must declines refuses prohibits prevents forbids"
    ),
    _w(
        "i i'm i've i'd i'll my me sorry apologies apologize apologise unfortunately regrettably afraid against "
        "violate violates violating violation contrary cannot can't won't unable"
    ),
)
_REFUSAL_RULES = [_R_REFUSAL_EN, *_REFUSAL_FOREIGN]
_LEAD_QUOTE = re.compile(
    r"[\"“”«»„‟‹›「」『』]|\b(?:says?|said|reply|replies|replied|respond(?:s|ed)?|"
    r"like|such as|e\.g\.|example|message|phrase|text)\s*:?\s*$"
)


def refusal_score(text: str, *, lead: int = 240) -> tuple[float, str | None, str | None]:
    """How likely an output declines the request: a decline phrase within its first ``lead``
    characters, not quoted (a refusal the answer talks about is not a refusal)."""
    if not text:
        return 0.0, None, None
    stripped = text.lstrip(" \n\t*_>#-\"'")
    head = fold(stripped[: lead + 60])
    keys = _keys(head, "refusal")
    best: re.Match[str] | None = None
    for rule in _REFUSAL_RULES:
        if rule not in keys:
            continue
        for match in rule.pattern.finditer(head):
            if match.start() > lead:
                break
            prefix = head[: match.start()]
            if _LEAD_QUOTE.search(prefix):
                break  # the phrase is quoted or cited: the answer talks about a refusal
            best = match
            break
        if best is not None:
            break
    if best is None:
        return 0.0, None, None
    rest = len(stripped) - best.end()
    score = 0.95 if rest < 600 else 0.7  # a decline followed by a long answer is a partial refusal
    return score, "refusal", best.group(0).strip()[:80]


# -- user correction -----------------------------------------------------------------------------------
_NOT_CORRECTION = re.compile(
    r"^\W*(?:no|nope|nah|nein|non|não|nao|нет)\W+(?:problem|problemo|worries|worry|thanks|thank you|thx|"
    r"need|rush|hurry|pressure|that's (?:all|it|everything|fine|good|great|perfect|ok|okay)|that is (?:all|it|"
    r"everything)|i'm good|i am good|i'm fine|all good|more|further|other|nothing|that'll be all|we're good|"
    r"it's fine|it's ok|it's okay|pasa nada|hay problema|gracias|merci|danke|obrigad[oa]|grazie|спасибо|"
    r"problema|problème|problem)\b"
    r"|^\W*(?:actually|in fact),?\s+(?:(?:that|this|it)(?:'s| is| was| works| worked| looks| sounds|'ll)\s+"
    r"(?:great|perfect|fine|good|right|correct|exactly|just|awesome|helpful|really|amazing|enough|ok|"
    r"okay)|it works|it worked|that worked|that works|thanks|thank you|never mind|nevermind|one more|another|"
    r"also|please also|let's|let me|i (?:have|had|want|wanted|need|needed|would|'d|was wondering|wonder|"
    r"think|like|love|also|just)|i've|could|can|would|will|please|how|what|why|when|where|which|who|is|are|"
    r"do|does|you're right|you are right|that's right|yes)\b"
)
_CORRECTION_LEAD = re.compile(
    r"^\W*(?:no|nope|nah|uh,? no|um,? no|hmm+,? no|no no)\b\W"
    r"|^\W*(?:wrong|incorrect|not quite|not exactly|not really|not true|false|negative|that's not it|thats not it|"
    r"that is not it|not correct|not right|falsch|errado|errada|sbagliato|sbagliata|faux|fausse|incorrecto|"
    r"incorrecta|incorreto|incorreta|mal|неверно|неправильно|nicht richtig|pas du tout)\s*(?:[.!,:;\u2014-]|$)"
    r"|^\W*wrong [\w.'-]+\s*[,.!:;]"
    r"|^\W*no\W+(?:me refería|quise decir|quería decir|es\b|era\b|eso no|está mal|esta mal|así no)"
    r"|^\W*non\W+(?:je voulais dire|je parlais|c'est|ce n'est|pas ça|pas comme ça)"
    r"|^\W*nein\W+(?:ich meinte|ich wollte|das|es|so nicht)"
    r"|^\W*no\W+(?:intendevo|volevo dire|è\b|era\b|non è)"
    r"|^\W*não\W+(?:eu )?(?:quis dizer|queria dizer|me referia|é\b|era\b|está)"
    r"|^\W*нет\W+(?:я имел|я имела|я говорил|я сказал|я просил|не так|это)"
    r"|^\W*(?:不对|不對|不是|错了|錯了|違います|違う|ちがいます|아니요|아니에요)"
)
_SUBJECTS = _w("that's thats that this it's it its you you're youre ur your the still")
_CORRECTION_RULES = [
    _Rule.of(
        "correction",
        re.compile(
            r"\b(?:is|are|was|were|it's|that's|its|you're|you are) (?:way |still |all |completely |slightly )?off by\b"
            r"|\byou keep (?:ignoring|forgetting|missing|getting|making|using|adding|doing|repeating|mixing|"
            r"confusing|skipping|leaving)\b|\byou(?:'ve| have)? got (?:it|that|this|them|the \w+|those|these|"
            r"my \w+) (?:wrong|backwards|mixed up|reversed|the wrong way round|upside down)"
        ),
        _w("off keep got"),
        _w(
            "by ignoring forgetting missing getting making using adding doing repeating mixing confusing skipping "
            "leaving wrong backwards mixed reversed upside"
        ),
    ),
    _Rule.of(
        "correction",
        re.compile(
            r"\b(?:that's|thats|that is|this is|that was|this was|it's|it is|its|you are|you're|youre|ur|you were|"
            r"your (?:answer|response|reply|code|solution|calculation|math|summary|translation|explanation) "
            r"(?:is|was)|the (?:answer|response|result|output|code) (?:you gave )?(?:is|was)|this answer is|"
            r"that answer is|that's still|this is still|it's still|still) (?:totally |completely |entirely |"
            r"just |simply |clearly |obviously |definitely |all |quite |also |not quite |a bit )?(?:wrong|"
            r"incorrect|inaccurate|false|mistaken|a mistake|an error|wrong again|backwards|"
            r"not (?:right|correct|true|accurate|it|what i (?:asked|meant|wanted|said|requested|need|needed)|"
            r"what i was (?:asking|looking) for|working|the (?:right|correct) (?:one|answer)))\b"
            r"|\b(?:that's|that is|this is|it's|you gave (?:me )?|you used|you picked|you chose) (?:the |a )?"
            r"wrong \w+"
        ),
        _w("wrong incorrect inaccurate false mistaken mistake error backwards not"),
        _SUBJECTS,
    ),
    _Rule.of(
        "correction",
        re.compile(
            r"\byou(?:'ve| have)? (?:made|have made|'ve made|make|got|get) (?:a |an |some |several |two |the )?"
            r"(?:mistake|error|typo|miscalculation|mistakes|errors|math wrong|numbers wrong|wrong)"
        ),
        _w("mistake error typo miscalculation mistakes errors wrong"),
        ("you", "you've"),
    ),
    _Rule.of(
        "correction",
        re.compile(
            r"\byou (?:misunderstood|misread|misinterpreted|misunderstand|confused|mixed up|mixed|"
            r"got (?:it|that|this|the \w+|them|those|these) (?:wrong|backwards|mixed up)|are confusing|'re confusing|"
            r"are mixing|'re mixing|messed up|screwed up|botched)\b|\byou're confusing\b|\byou're mixing\b"
        ),
        _w(
            "misunderstood misread misinterpreted misunderstand confused mixed got confusing mixing messed "
            "screwed botched"
        ),
        ("you", "you're"),
    ),
    _Rule.of(
        "correction",
        re.compile(
            r"\byou (?:forgot|missed|left out|omitted|skipped|ignored|dropped|overlooked|didn't (?:include|answer|"
            r"read|do|follow|use|listen|understand|mention|add|fix|address|change|consider|account)|did not "
            r"(?:include|answer|read|do|follow|use|listen|understand|mention|add|fix|address)|never (?:answered|"
            r"addressed|mentioned))\b"
        ),
        _w("forgot missed left omitted skipped ignored dropped overlooked didn't did never"),
        ("you",),
    ),
    _Rule.of(
        "correction",
        re.compile(
            r"\b(?:i|i've|i have) (?:said|asked for|asked you|specified|told you|already told you|explicitly asked|"
            r"clearly said|clearly asked|was asking|wanted|meant|mean)\b(?! to\b)"
        ),
        _w("said asked specified told already explicitly clearly was wanted meant mean"),
        ("i", "i've"),
    ),
    _Rule.of(
        "correction",
        re.compile(r"\b(?:still|again) (?:wrong|incorrect|not (?:working|right|correct|what i))\b"),
        ("still", "again"),
        ("wrong", "incorrect", "not"),
    ),
    _Rule.of(
        "correction",
        re.compile(
            r"\bthat's not what\b|\bthat is not what\b|\bthats not what\b|\bnot what i (?:asked|meant|wanted|said)\b"
        ),
        ("what",),
        ("not",),
    ),
    _Rule.of(
        "correction",
        re.compile(
            r"\bplease (?:re-?read|read (?:it |my question )?again|check again|double[- ]check|look again)\b"
        ),
        ("please",),
        _w("re-read reread read check double double-check look"),
    ),
    _Rule.of(
        "correction",
        re.compile(
            r"\bthe (?:correct|right|actual|real) (?:answer|one|value|date|number|formula|version|result|name|"
            r"year|figure|amount|spelling|term|word|total) (?:is|was|should be)\b"
        ),
        ("correct", "right", "actual", "real"),
        ("is", "was", "should"),
    ),
    _Rule.of(
        "correction",
        re.compile(
            r"\bit should (?:be|have been|say|read|return)\b|\bshould(?: be|'ve been| have been) \w+,? not\b"
        ),
        ("should", "should've"),
    ),
    _Rule.of(
        "correction",
        re.compile(r"\bthere(?:'s| is) (?:a |an )?(?:mistake|error|bug|typo) in (?:your|the|this|that)\b"),
        ("mistake", "error", "bug", "typo"),
        ("there's", "there"),
    ),
    _Rule.of(
        "correction",
        re.compile(r"\bwhere did you get (?:that|this)\b|\bthat'?s? (?:not how|not true|nonsense|made up)\b"),
        _w("where nonsense made how true"),
        ("that's", "thats", "that", "get"),
    ),
    _Rule.of(
        "correction",
        re.compile(
            r"\b(?:doesn't|does not|didn't|did not|won't|isn't|is not|aren't|wasn't) (?:work|compile|run|"
            r"working|correct|right|accurate)\b"
        ),
        _w("doesn't does didn't did won't isn't is aren't wasn't"),
        _w("work compile run working correct right accurate"),
    ),
    _Rule.of(
        "correction",
        re.compile(r"\btry again\b|^\W*wrong (?:again|answer|one)\b"),
        ("try", "wrong"),
        ("again", "answer", "one"),
    ),
]
_CORRECTION_FOREIGN = [
    _Rule.of(
        "correction",
        re.compile(
            r"\beso (?:está|esta|es) (?:mal|incorrecto|equivocado|erróneo)|\beso no es (?:correcto|cierto|"
            r"verdad|lo que (?:pedí|quería|dije|pregunté))|\bte (?:equivocas|has equivocado|confundiste|"
            r"olvidaste)\b|\b(?:está|es) incorrecto\b|\bno es correcto\b|\bme refería a\b|\bte equivocaste\b"
            r"|\bsigue (?:mal|estando mal)\b|\bno funciona\b|\bestá mal\b"
        ),
        _w(
            "mal incorrecto equivocado erróneo correcto cierto verdad equivocas confundiste olvidaste "
            "refería equivocaste funciona pedí quería dije pregunté"
        ),
    ),
    _Rule.of(
        "correction",
        re.compile(
            r"\bc'est (?:faux|incorrect|inexact|erroné|pas (?:correct|juste|ça|ce que|exact|vrai|bon))|\bce n'est pas "
            r"(?:correct|juste|ce que|ça|vrai|exact|bon)\b|\btu te trompes\b|\bvous vous trompez\b|\btu t'es "
            r"trompée?\b|\bvous vous êtes trompée?s?\b|\bje voulais dire\b|\bpas ce que j'ai demandé\b|"
            r"\btu as oublié\b|\bvous avez oublié\b|\bça ne marche pas\b|\bça ne fonctionne pas\b"
        ),
        _w("c'est n'est trompes trompez t'es êtes voulais demandé oublié marche fonctionne"),
    ),
    _Rule.of(
        "correction",
        re.compile(
            r"\bdas (?:ist|war) (?:falsch|nicht richtig|nicht korrekt|inkorrekt|nicht das|leider falsch|so nicht "
            r"richtig)|\bdas stimmt (?:nicht|so nicht|leider nicht)\b|\bdu (?:irrst dich|liegst falsch|hast dich "
            r"geirrt|hast (?:einen )?fehler|hast vergessen)\b|\bsie irren sich\b|\bich meinte\b|\bstimmt nicht\b|"
            r"\bfunktioniert nicht\b|\bimmer noch falsch\b"
        ),
        _w("falsch nicht inkorrekt irrst liegst geirrt fehler vergessen irren meinte"),
    ),
    _Rule.of(
        "correction",
        re.compile(
            r"\b(?:è|e') (?:sbagliato|errato|scorretto|falso|sbagliata|errata)\b|\bnon (?:è|e') (?:corretto|giusto|"
            r"vero|quello che|corretta|giusta)\b|\bti sbagli\b|\bhai sbagliato\b|\bintendevo\b|\bvolevo dire\b|"
            r"\bhai dimenticato\b|\bnon funziona\b"
        ),
        _w("sbagliato errato scorretto falso sbagliata errata non sbagli intendevo volevo dimenticato"),
    ),
    _Rule.of(
        "correction",
        re.compile(
            r"\b(?:isso )?(?:está|esta|é) (?:errado|incorreto|equivocado|errada|incorreta)\b|\bnão (?:está|é) "
            r"(?:correto|certo|verdade|isso|correta|certa)\b|\bvocê (?:está errad[oa]|se enganou|errou|esqueceu)\b|"
            r"\bquis dizer\b|\bme referia\b|\bnão funciona\b"
        ),
        _w("errado incorreto equivocado errada incorreta não você quis referia"),
    ),
    _Rule.of(
        "correction",
        re.compile(
            r"это (?:неправильно|неверно|не так|ошибка|не то|ошибочно)|(?:ты|вы) (?:ошибаешься|ошибаетесь|"
            r"ошибся|ошиблась|ошиблись|неправ|неправы|забыл|забыли)|я имел в виду|я имела в виду|неправильно|"
            r"неверно|не работает"
        ),
        substrings=("неправ", "неверн", "не так", "ошиб", "не то", "забыл", "имел", "имела", "не работает"),
    ),
    _Rule.of(
        "correction",
        re.compile(
            r"错了|錯了|不正确|不正確|你(?:搞错|弄错|说错|理解错|搞錯|弄錯|說錯|理解錯|忘了)|我(?:说的是|說的是|"
            r"的意思是|是说|是說|要的是)|这是错的|這是錯的|并不是|并不对|不能用|还是不对|還是不對"
        ),
        substrings=_w("错 錯 不正 你 我 并不 不能用 不对 不對"),
    ),
    _Rule.of(
        "correction",
        re.compile(
            r"間違(?:い|って)|正しくない|そうではなく|ではなく|じゃなく|動きません|忘れて(?:います|る)"
        ),
        substrings=_w("間違 正しくない ではなく じゃなく 動きません 忘れて"),
    ),
    _Rule.of(
        "correction",
        re.compile(r"틀렸|아니요,? 제 말은|잘못|그게 아니|아니라|작동하지 않"),
        substrings=("틀렸", "아니", "잘못", "작동하지"),
    ),
]
_ALL_CORRECTION_RULES = [*_CORRECTION_RULES, *_CORRECTION_FOREIGN]
_NOT_Y = re.compile(
    r"\w[\w'\-]*,?\s+(?:and )?not (?:the )?(?!sure\b|bad\b|yet\b|now\b|much\b|really\b)\w[\w'\-]*\s*[.!]?\s*$|"
    r"\w,\s*not\s+(?!sure\b|bad\b|yet\b|now\b|much\b|really\b|at all\b)\w"
)
_ACTUALLY = re.compile(r"^\W*(?:actually|in fact|hmm+|um+|wait|erm+|well|but)\b")


def correction_score(text: str, *, lead: int = 300) -> tuple[float, str | None, str | None]:
    """How likely a user message corrects the assistant's previous answer (read from its first
    ``lead`` characters: corrections come first)."""
    if not text:
        return 0.0, None, None
    head = fold(text.strip()[:lead])
    if _NOT_CORRECTION.search(head):
        # "No problem", "Actually, that works": a polite opener; look for a correction after it.
        rest = re.split(r"[.!?\n]", head, maxsplit=1)
        if len(rest) < 2:
            return 0.0, None, None
        head = rest[1]
    m = _CORRECTION_LEAD.search(head)
    if m is None:
        keys = _keys(head, "correction")
        for rule in _ALL_CORRECTION_RULES:
            if rule in keys:
                m = rule.pattern.search(head)
                if m is not None:
                    break
    if m is not None:
        weight = 0.9
        phrase = m.group(0)
        if (
            re.match(r"\W*(?:i |i've |i have )", phrase)
            and not _NOT_Y.search(head)
            and not _ACTUALLY.match(head)
        ):
            weight = 0.6  # "I wanted ...": a correction when it restates, weaker on its own
        return weight, "user_correction", phrase.strip()[:80]
    actually = _ACTUALLY.match(head)
    not_y = _NOT_Y.search(head) if " not " in head or ",not" in head else None
    if actually and not_y:
        return 0.85, "user_correction", head[:80]
    if not_y and len(head) < 120:
        return 0.55, "user_correction", not_y.group(0).strip()[:80]
    if actually and head.startswith(("actually", "in fact")):
        return 0.55, "user_correction", actually.group(0).strip()
    return 0.0, None, None


__all__ = ["correction_score", "fold", "injection_score", "refusal_score"]

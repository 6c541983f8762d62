"""What simulated people say: names, topics and message bodies of every kind.

Bodies cover what real chats carry and what tends to break archives: plain text,
HTML, many scripts, emoji (astral characters), markup that must stay text, and
long messages near the ACS limit of about 28 KB.
"""

from __future__ import annotations

import random

MAX_BODY_BYTES = 28 * 1024  # ACS refuses larger messages

_FIRST = [
    "Ana",
    "Bo",
    "Chen",
    "Dara",
    "Émile",
    "Farah",
    "Gökhan",
    "Hiroshi",
    "Ingrid",
    "José",
    "Kwame",
    "Łucja",
    "Mei",
    "Nikolai",
    "Olu",
    "Priya",
    "Quinn",
    "Raúl",
    "Søren",
    "Zoë",
]
_LAST = [
    "Adeyemi",
    "Bergström",
    "Costa",
    "Dubois",
    "Eriksen",
    "Fernández",
    "García",
    "Haddad",
    "Ivanova",
    "Jensen",
    "Kowalski",
    "Li",
    "Müller",
    "Nakamura",
    "O'Brien",
    "Patel",
]
_SUBJECTS = [
    "Order #48213",
    "Prescription renewal",
    "Claim 2026-114",
    "Onboarding",
    "Router keeps dropping",
    "Appointment on Friday",
    "Refund request",
    "Password reset",
]
_PLAIN = [
    "Hello, how can I help you today?",
    "Thanks, I'll check and get back to you in a minute.",
    "Could you send me the reference number, please?",
    "That should be fixed now. Can you try again?",
    "I've escalated this to the second-line team.",
    "Is there anything else I can do for you?",
    "Sure — one moment.",
]
_UNICODE = [
    "Grüße aus Köln! Ça va? ¿Qué tal?",
    "こんにちは、注文の状況を確認します。",
    "مرحبا، كيف يمكنني مساعدتك؟",
    "שלום! ההזמנה נשלחה אתמול.",
    "Привет! Всё работает.",
    "नमस्ते, आपका टिकट बंद कर दिया गया है।",
    "👍 Done! 🎉🚀 (family: 👨‍👩‍👧‍👦, flag: 🇳🇴, skin tone: 👋🏽)",
    "Zalgo: Z̷̢͔a̶͍͑l̵̰̿g̸̱̓o̴̟͝ and zero-width: a\u200bb\u200dc",
    "Math: 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕥𝕖𝕩𝕥, ∑ x² ≤ ∞",
]
_MARKUP = [
    "<script>alert('not html in a Text message')</script>",
    '=HYPERLINK("http://example.invalid","click") and +1-2 and @SUM(A1)',
    'Line one\nLine two\r\n\ttabbed "quoted" \\backslash\\',
    '{"looks": "like json", "n": 1}',
]
_HTML = [
    "<p>Your appointment is <b>confirmed</b> for <i>Friday 10:00</i>.</p>",
    '<p>See <a href="https://contoso.example/kb/42">KB 42</a>.</p>'
    "<ul><li>one</li><li>two</li></ul>",
    "<div><p>Quoted:</p><blockquote>Original message</blockquote></div>",
]


def display_name(rng: random.Random) -> str:
    """A person's display name, often with accents or apostrophes."""
    return f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"


def topic_for(rng: random.Random) -> str:
    """A thread topic, as support desks and appointments name them."""
    return rng.choice(_SUBJECTS)


def body_for(
    rng: random.Random, *, kind: str | None = None
) -> tuple[str, str, dict[str, str] | None]:
    """A message: its ACS type (Text or Html), its body, and maybe metadata."""
    kind = kind or ("Html" if rng.random() < 0.15 else "Text")
    roll = rng.random()
    if kind == "Html":
        body = rng.choice(_HTML)
    elif roll < 0.55:
        body = rng.choice(_PLAIN)
    elif roll < 0.85:
        body = rng.choice(_UNICODE)
    elif roll < 0.97:
        body = rng.choice(_MARKUP)
    else:
        body = _long(rng)
    metadata = None
    if rng.random() < 0.2:
        metadata = {
            "deliveryMode": rng.choice(["agent", "bot"]),
            "tag": f"case-{rng.randrange(10**6)}",
        }
    return kind, body, metadata


def _long(rng: random.Random) -> str:
    """A long message, up to the ACS size limit in UTF-8 bytes."""
    target = rng.randint(4 * 1024, MAX_BODY_BYTES - 64)
    piece = "Log excerpt — ✓ step passed; "
    text = piece * (target // len(piece.encode()))
    return text[: max(1, len(text))]

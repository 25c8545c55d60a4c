"""Recognise bot-check, challenge and access-denied pages that arrive with status 200.

A CDN that decides we are a bot often answers the document URL with a small HTML page ("Just a moment...",
"Attention Required!", a CAPTCHA, "Access Denied"). Stored as a version it would replace the document and
make every commitment look "removed". Such a page is a failed attempt (`bot_challenge`), never a capture.

Markers come in three strengths: vendor markers (names only challenge pages carry) count on any page;
strong phrases (an "Access Denied" title, "checking your browser") count on a page with little text,
because a real policy page may mention them in passing; weak ones (a CAPTCHA widget, "verify you are
human") count only two together on a small page, because a small landing page may have a CAPTCHA form.
"""

from __future__ import annotations

import re

SMALL_PAGE_CHARS = 2500  # challenge pages carry a few hundred characters of text; documents far more

# Only challenge / block pages carry these, whatever their size.
VENDOR_MARKERS = [
    (re.compile(rb"window\._cf_chl_opt|/cdn-cgi/challenge-platform/h/|cf-browser-verification|cf_chl_prog"), "Cloudflare challenge"),
    (re.compile(rb"<title>\s*Just a moment\.\.\.\s*</title>", re.I), "Cloudflare 'Just a moment...' page"),
    (re.compile(rb"<title>\s*Attention Required!\s*\|\s*Cloudflare\s*</title>", re.I), "Cloudflare 'Attention Required!' page"),
    (re.compile(rb"captcha-delivery\.com|geo\.captcha-delivery"), "DataDome CAPTCHA"),
    (re.compile(rb"Incapsula incident ID", re.I), "Imperva/Incapsula block page"),
    (re.compile(rb"<title>\s*Pardon Our Interruption", re.I), "Imperva/Distil bot check"),
    (re.compile(rb"id=[\"']px-captcha|_pxCaptcha", re.I), "PerimeterX/HUMAN CAPTCHA"),
    (re.compile(rb"Sucuri WebSite Firewall - Access Denied", re.I), "Sucuri firewall block page"),
    (re.compile(rb"<title>\s*DDoS-Guard\s*</title>|ddos-guard\.net/", re.I), "DDoS-Guard check"),
]

# Count only on a small page: a long document may use these words. A strong one is enough there.
STRONG_MARKERS = [
    (re.compile(rb"<title>[^<]{0,40}\b(?:access denied|access to this page has been denied|request blocked|"
                rb"forbidden|you have been blocked|security check|bot (?:check|verification))\b", re.I),
     "an access-denied title"),
    (re.compile(rb"checking (?:if the site connection is secure|your browser before accessing)", re.I),
     "a browser check"),
    (re.compile(rb"enable (?:javascript and cookies|cookies and javascript) to continue", re.I),
     "an 'enable JavaScript and cookies to continue' notice"),
    (re.compile(rb"you don't have permission to access .{0,200} on this server|Reference #\d+\.[0-9a-f]+", re.I | re.S),
     "an Akamai 'Access Denied' page"),
]
# Weak: a small landing page may carry one of these (a newsletter form with a CAPTCHA, a vendor script);
# two together on a small page make a challenge.
WEAK_MARKERS = [
    (re.compile(rb"verify (?:that )?you are (?:a )?human|are you a robot|not a robot|prove you(?:'re| are) human", re.I),
     "a 'verify you are human' prompt"),
    (re.compile(rb"g-recaptcha|h-captcha|hcaptcha\.com|cf-turnstile|challenges\.cloudflare\.com|class=\"captcha", re.I),
     "a CAPTCHA widget"),
    (re.compile(rb"AwsWafIntegration|awswaf\.com|aws-waf-token", re.I), "an AWS WAF script"),
    (re.compile(rb"_Incapsula_Resource", re.I), "an Imperva/Incapsula script"),
]


SCAN_BYTES = 200_000  # markers sit in the first kilobytes; a hostile body must not cost a full scan
SMALL_PAGE_BYTES = 64_000  # above this a page is never "small", whatever its text


def challenge_reason(body: bytes, headers: dict[str, str], text: str | None = None) -> str | None:
    """What marks the body as a challenge / block page ("Cloudflare challenge", ...), or None for a
    normal document. `headers` are lower-cased response headers; `text` is the extracted text if there
    is one (its length decides whether generic phrases count), else the visible text is estimated."""
    if headers.get("cf-mitigated", "").strip().lower() == "challenge":
        return "Cloudflare challenge (cf-mitigated header)"
    if b"%PDF-" in body[:1024]:
        return None
    head = body[:SCAN_BYTES]
    for pattern, what in VENDOR_MARKERS:
        if pattern.search(head):
            return what
    if text is not None:
        size = len(text.strip())
    elif len(body) > SMALL_PAGE_BYTES:
        return None
    else:
        size = visible_chars(body)
    if size > SMALL_PAGE_CHARS:
        return None
    for pattern, what in STRONG_MARKERS:
        if pattern.search(head):
            return what
    weak = [what for pattern, what in WEAK_MARKERS if pattern.search(head)]
    return " and ".join(weak) if len(weak) >= 2 else None


TAG = re.compile(rb"<[^>]*>")
SPACE = re.compile(rb"\s+")


def visible_chars(html: bytes) -> int:
    """Rough count of the characters a reader would see: tags, scripts and styles removed, whitespace
    folded. Linear in the input (no regex that backtracks over unclosed <script> tags)."""
    lower = html.lower()
    parts: list[bytes] = []
    pos = 0
    while pos < len(html):
        starts = [i for i in (lower.find(b"<script", pos), lower.find(b"<style", pos)) if i >= 0]
        if not starts:
            parts.append(html[pos:])
            break
        start = min(starts)
        parts.append(html[pos:start])
        closing = b"</script" if lower.startswith(b"<script", start) else b"</style"
        end = lower.find(closing, start)
        if end < 0:
            break
        pos = end + len(closing)
    visible = SPACE.sub(b" ", TAG.sub(b" ", b"".join(parts))).strip()
    return len(visible)

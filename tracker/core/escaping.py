"""The one escaping helper: every text that came from outside (documents, submissions, catalog fields) is data.

Pages pass such text through `escape_markdown` before `st.markdown`, `st.caption` or any label that renders
Markdown; diffs escape each word before marking it. A quote containing `**`, `[link](...)`, `<script>`,
`:red[...]` or `$x$` is shown literally.
"""

from __future__ import annotations

import re

# Every ASCII punctuation character may be backslash-escaped in CommonMark; escaping all of them also disarms
# Streamlit's extensions (`:red[...]` directives, `:emoji:` codes, `$math$`).
_PUNCTUATION = re.compile(r"([!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])")
_SPACE = re.compile(r"\s+")


def escape_markdown(text: str) -> str:
    """Text that renders as itself in `st.markdown`: punctuation escaped, whitespace runs collapsed.

    Collapsing whitespace is deliberate: hard-wrapped document text would otherwise turn indented lines into
    code blocks and blank lines into paragraphs that the quote does not have.
    """
    return _PUNCTUATION.sub(r"\\\1", _SPACE.sub(" ", text).strip())

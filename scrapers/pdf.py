"""PDF -> text with `[[page N]]` markers and headings found by font size (pypdf). Encrypted, corrupt and empty
PDFs fail with a stable reason code.
"""

from __future__ import annotations

import io
import math
import re
from collections import Counter

from scrapers.capture import FetchError


def _fold(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()

# ---------------------------------------------------------------------------------------------- PDF

HEADING_SIZE_RATIO = 1.15  # a line this much larger than the body font is a heading
MAX_HEADING_CHARS = 160


def _pdf_lines(page) -> list[tuple[str, float]]:
    """(line, font size) for one page. pypdf's visitor sees every text run with its size; the runs
    concatenate to exactly what extract_text returns, so line sizes are exact."""
    runs: list[tuple[str, float]] = []

    def visit(text: str, cm, tm, font_dict, font_size) -> None:
        scale = 1.0
        for matrix in (cm, tm):
            if matrix:
                scale *= math.hypot(matrix[0], matrix[1]) or 1.0
        runs.append((text, float(font_size or 0) * scale))

    page.extract_text(visitor_text=visit)
    lines: list[tuple[str, float]] = []
    current: list[str] = []
    sizes: list[float] = []
    for text, size in runs:
        parts = text.split("\n")
        for index, part in enumerate(parts):
            if index:
                lines.append(("".join(current), min(sizes) if sizes else 0.0))
                current, sizes = [], []
            if part:
                current.append(part)
                if part.strip():
                    sizes.append(size)
    if current:
        lines.append(("".join(current), min(sizes) if sizes else 0.0))
    return lines


def pdf_to_text(body: bytes, url: str) -> tuple[str, int, list[tuple[str, int]], list[str]]:
    """Text with `[[page N]]` markers and `## ` headings (lines set in a clearly larger font than the
    body text), page count, headings with levels (largest size = level 1) and warnings."""
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError

    warnings: list[str] = []
    try:
        reader = PdfReader(io.BytesIO(body))
        if reader.is_encrypted:
            try:
                decrypted = reader.decrypt("")
            except DependencyError as exc:
                raise FetchError(
                    "pdf_encrypted",
                    f"{url}: the PDF is encrypted with AES and the `cryptography` package is missing ({exc}).",
                    url=url, bytes_received=len(body),
                ) from exc
            if not decrypted:
                raise FetchError(
                    "pdf_encrypted",
                    f"{url}: the PDF needs a password to open; ask the publisher for an open copy or import "
                    "a decrypted copy with `import-file`.",
                    url=url, bytes_received=len(body),
                )
            warnings.append("PDF is encrypted with an empty user password (permissions only); text extracted")
        pages = list(reader.pages)
    except FetchError:
        raise
    except FileNotDecryptedError as exc:
        raise FetchError("pdf_encrypted", f"{url}: the PDF is encrypted ({exc}).", url=url) from exc
    except Exception as exc:
        raise FetchError(
            "pdf_corrupt",
            f"{url}: the PDF cannot be parsed ({type(exc).__name__}: {exc}); the file is damaged or truncated.",
            url=url, bytes_received=len(body),
        ) from exc
    if not pages:
        raise FetchError("pdf_corrupt", f"{url}: the PDF has no pages.", url=url, bytes_received=len(body))

    page_lines: list[list[tuple[str, float]]] = []
    failed = 0
    for number, page in enumerate(pages, start=1):
        try:
            page_lines.append(_pdf_lines(page))
        except Exception as exc:
            failed += 1
            warnings.append(f"page {number} could not be read ({type(exc).__name__})")
            page_lines.append([])
    if failed == len(pages):
        raise FetchError(
            "pdf_corrupt", f"{url}: none of the {len(pages)} pages could be read.", url=url, bytes_received=len(body)
        )

    weights: Counter[float] = Counter()
    for lines in page_lines:
        for line, size in lines:
            weights[round(size, 1)] += len(line.strip())
    body_size = weights.most_common(1)[0][0] if weights else 0.0
    heading_sizes = sorted(
        {
            round(size, 1)
            for lines in page_lines
            for line, size in lines
            if _is_pdf_heading(line, size, body_size)
        },
        reverse=True,
    )
    out: list[str] = []
    headings: list[tuple[str, int]] = []
    for number, lines in enumerate(page_lines, start=1):
        out.append(f"\n[[page {number}]]\n")
        previous_heading = False
        for line, size in lines:
            if _is_pdf_heading(line, size, body_size):
                heading = _fold(line)
                out.append(("" if previous_heading else "\n") + "## " + heading)
                headings.append((heading, min(6, heading_sizes.index(round(size, 1)) + 1)))
                previous_heading = True
            else:
                out.append(("\n" if previous_heading else "") + line)
                previous_heading = False
        out.append("")
    return "\n".join(out), len(pages), headings, warnings


def _is_pdf_heading(line: str, size: float, body_size: float) -> bool:
    stripped = line.strip()
    return (
        body_size > 0
        and size >= body_size * HEADING_SIZE_RATIO
        and 0 < len(stripped) <= MAX_HEADING_CHARS
        and any(ch.isalpha() for ch in stripped)
    )

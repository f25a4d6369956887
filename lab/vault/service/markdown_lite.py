"""A small, safe Markdown renderer for twin data cards (``card.md``) on the dashboard.

The lab's environment has no Markdown package of its own (``markdown`` is not installed,
and what comes with JupyterLab is not ours to rely on), and a card needs only a little of
the language: headings, paragraphs with hard breaks, ``-`` and ``1.`` lists, pipe tables,
fenced code, ``**bold**``, ``*italic*``, `` `code` `` and links. Safety comes first: every
piece of text is HTML-escaped *before* any markup is added, so nothing in a card (which
quotes policy text written by data owners) can inject HTML; raw HTML in the source shows as
text, and a link is kept only if it points to http(s), a relative path or an anchor.

>>> str(render_markdown("# Card\\n\\nSome **bold** <b>text</b>."))
'<h1>Card</h1>\\n<p>Some <strong>bold</strong> &lt;b&gt;text&lt;/b&gt;.</p>'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from markupsafe import Markup, escape

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^\s{0,3}[-*+]\s+(.*)$")
_NUMBERED = re.compile(r"^\s{0,3}\d{1,9}[.)]\s+(.*)$")
_RULE = re.compile(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$")
_SEPARATOR_CELL = re.compile(r"^:?-{1,}:?$")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
_STRONG = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
_EMPHASIS = re.compile(r"(?<![*\w])\*(?=[^\s*])(.+?)(?<=[^\s*])\*(?![*\w])")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
#: Cards mark gates with emoji, which machines without an emoji font show as boxes: use text marks.
_MARKS = {"\u2705": '<span class="mark pass" title="passed">\u2713</span>',
          "\u274c": '<span class="mark fail" title="failed">\u2717</span>'}
_SAFE_URL = re.compile(r"^(https?://|/|#|\.{0,2}/?[\w.-]+(/[\w.#-]*)*$)", re.IGNORECASE)


def render_markdown(text: str) -> Markup:
    """``text`` (Markdown) as HTML, every text run escaped (see the module's docs)."""
    return Markup("\n".join(_blocks(text.replace("\r\n", "\n").split("\n"))))


def _blocks(lines: list[str]) -> Iterator[str]:
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
        elif line.lstrip().startswith("```"):
            end = next((j for j in range(i + 1, len(lines)) if lines[j].lstrip().startswith("```")), len(lines))
            yield f"<pre><code>{escape(chr(10).join(lines[i + 1:end]))}</code></pre>"
            i = end + 1
        elif heading := _HEADING.match(line):
            level = len(heading.group(1))
            yield f"<h{level}>{_inline(heading.group(2))}</h{level}>"
            i += 1
        elif _RULE.match(line):
            yield "<hr>"
            i += 1
        elif line.lstrip().startswith("|"):
            end = _table_end(lines, i)
            yield _table(lines[i:end])
            i = end
        elif _BULLET.match(line) or _NUMBERED.match(line):
            ordered = bool(_NUMBERED.match(line))
            end = _run(lines, i, lambda s: bool(s.strip()) and not _HEADING.match(s))
            yield _list(lines[i:end], ordered)
            i = end
        elif line.lstrip().startswith(">"):
            end = _run(lines, i, lambda s: s.lstrip().startswith(">"))
            quoted = [s.lstrip()[1:].removeprefix(" ") for s in lines[i:end]]
            yield f"<blockquote>{_paragraph(quoted)}</blockquote>"
            i = end
        else:
            end = _run(lines, i, lambda s: bool(s.strip()) and not _starts_block(s))
            yield _paragraph(lines[i:end])
            i = end


def _run(lines: list[str], start: int, keep: Callable[[str], bool]) -> int:
    """The end (exclusive) of the block that starts at ``start`` and goes on while ``keep(line)``."""
    end = start + 1
    while end < len(lines) and keep(lines[end]):
        end += 1
    return end


def _table_end(lines: list[str], start: int) -> int:
    """The end of a table: its ``|`` rows, and the lines of a row whose cell text had a line break."""
    end = start + 1
    while end < len(lines):
        line, previous = lines[end], lines[end - 1].rstrip()
        if not (line.lstrip().startswith("|") or (line.strip() and not previous.endswith("|")
                                                  and not _starts_block(line))):
            break
        end += 1
    return end


def _starts_block(line: str) -> bool:
    stripped = line.lstrip()
    return bool(_HEADING.match(line) or _BULLET.match(line) or _NUMBERED.match(line) or _RULE.match(line)
                or stripped.startswith(("|", "```", ">")))


def _paragraph(lines: list[str]) -> str:
    parts = []
    for index, line in enumerate(lines):
        last = index == len(lines) - 1
        parts.append(_inline(line.strip()) + ("<br>" if line.endswith("  ") and not last else ""))
    return "<p>" + "\n".join(parts) + "</p>"


def _list(lines: list[str], ordered: bool) -> str:
    items: list[list[str]] = []
    for line in lines:
        item = _BULLET.match(line) or _NUMBERED.match(line)
        if item and (not line.startswith("    ")):
            items.append([item.group(1)])
        elif items:
            items[-1].append(line.strip())  # a continuation of the item above
    tag = "ol" if ordered else "ul"
    body = "".join(f"<li>{' '.join(_inline(part) for part in item)}</li>" for item in items)
    return f"<{tag}>{body}</{tag}>"


def _table(lines: list[str]) -> str:
    rows: list[str] = []
    for line in lines:  # join rows broken over several lines back together
        if rows and not rows[-1].rstrip().endswith("|"):
            rows[-1] += " " + line.strip()
        else:
            rows.append(line.strip())
    cells = [_cells(row) for row in rows]
    cells = [row for row in cells if any(cell for cell in row)]
    header: list[str] = []
    if len(cells) >= 2 and all(_SEPARATOR_CELL.match(c.replace(" ", "")) for c in cells[1]):
        header, cells = cells[0], cells[2:]
    head = "<thead><tr>" + "".join(f"<th>{_inline(c)}</th>" for c in header) + "</tr></thead>" if header else ""
    body = "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row) + "</tr>" for row in cells)
    return f"<table>{head}<tbody>{body}</tbody></table>"


def _cells(row: str) -> list[str]:
    row = row.strip()
    row = row[1:] if row.startswith("|") else row
    row = row[:-1] if row.endswith("|") else row
    return [cell.strip() for cell in row.split("|")]


def _inline(text: str) -> str:
    """One run of text: code spans verbatim (escaped), the rest escaped then marked up."""
    out, position = [], 0
    for span in _CODE_SPAN.finditer(text):
        out.append(_marked(text[position:span.start()]))
        out.append(f"<code>{escape(span.group(2).strip())}</code>")
        position = span.end()
    out.append(_marked(text[position:]))
    return "".join(out)


def _marked(text: str) -> str:
    html = str(escape(text))
    html = _LINK.sub(_link, html)
    html = _STRONG.sub(r"<strong>\1</strong>", html)
    html = _EMPHASIS.sub(r"<em>\1</em>", html)
    for symbol, mark in _MARKS.items():
        html = html.replace(symbol, mark)
    return html


def _link(match: re.Match[str]) -> str:
    label, url = match.group(1), match.group(2)  # both already escaped
    if not _SAFE_URL.match(url):
        return match.group(0)
    return f'<a href="{url}" rel="noopener noreferrer">{label}</a>'

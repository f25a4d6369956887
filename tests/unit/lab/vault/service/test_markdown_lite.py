"""The data card renderer: what a card uses renders, and nothing in a card can inject HTML."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from lab.vault.service.markdown_lite import render_markdown

CARD = """\
# Data card: Demo — synthetic twin v0001

**Status:** released  
**Dataset:** `demo` · **Owner:** Team

## Columns

| table | column | notes |
|---|---|---|
| people | age | Age on 5 April; may be missing |
| people | band | A description that had a line break
 |

- ✅ min_quality: 0.73 meets threshold 0.7
- ❌ max_exact_copy_rate: 0.02 fails threshold 0.01
  short by 0.01

1. first
2. second

```
code <b>here</b>
```
"""


def test_a_card_renders_headings_breaks_tables_lists_and_code():
    html = str(render_markdown(CARD))
    assert "<h1>Data card: Demo — synthetic twin v0001</h1>" in html
    assert "<strong>Status:</strong> released<br>" in html and "<code>demo</code>" in html
    assert "<thead><tr><th>table</th><th>column</th><th>notes</th></tr></thead>" in html
    assert "<td>A description that had a line break</td></tr>" in html  # the broken row, joined
    assert html.count("<tr>") == 3
    assert '<span class="mark pass" title="passed">✓</span> min_quality' in html
    assert '<span class="mark fail" title="failed">✗</span> max_exact_copy_rate: 0.02 fails threshold 0.01 ' \
           "short by 0.01</li>" in html
    assert "<ol><li>first</li><li>second</li></ol>" in html
    assert "<pre><code>code &lt;b&gt;here&lt;/b&gt;</code></pre>" in html


@pytest.mark.parametrize("source", [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "**<b onclick=alert(1)>x</b>**",
    "| <script>x</script> | y |",
    "# <iframe src=//evil>",
    "- <a href='javascript:alert(1)'>x</a>",
    "`</code><script>x</script>`",
    '[click](javascript:alert(1)) [x](" onmouseover="alert(1))',
    "[x](https://ok.org/\" onmouseover=\"alert(1))",
])
def test_nothing_in_a_card_becomes_html(source):
    tags = _tags(str(render_markdown(source)))
    assert {tag for tag, _ in tags} <= SAFE_TAGS
    for tag, attributes in tags:
        assert set(attributes) <= {"href", "rel", "class", "title"}, (tag, attributes)
        assert not attributes.get("href", "https:").lower().startswith("javascript"), attributes


SAFE_TAGS = {"p", "strong", "em", "code", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "table",
             "thead", "tbody", "tr", "th", "td", "blockquote", "hr", "br", "a", "span"}


def _tags(html: str) -> list[tuple[str, dict[str, str]]]:
    """Every start tag in ``html``, with its attributes, as a browser's parser reads them."""
    found: list[tuple[str, dict[str, str]]] = []

    class Collector(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found.append((tag, {name: value or "" for name, value in attrs}))

    Collector().feed(html)
    return found


def test_safe_links_are_kept():
    html = str(render_markdown("See [the guide](https://example.org/a?b=1&c=2) and [the report](report.html)."))
    assert '<a href="https://example.org/a?b=1&amp;c=2" rel="noopener noreferrer">the guide</a>' in html
    assert '<a href="report.html" rel="noopener noreferrer">the report</a>' in html

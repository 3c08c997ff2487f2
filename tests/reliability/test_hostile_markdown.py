"""User strings in a pull-request comment: a name or label holding ``</summary></details>``, tags,
backticks, fences, table pipes or links must show as text, never change the comment's structure."""

from __future__ import annotations

import re

from reconciler.render.markdown import md_fence, md_span, md_text

from .hostile_cli import SimCli, sim_cli

__all__ = ["sim_cli"]

EVIL_NAME = "Sales </summary></details><img src=x> `a` [l](http://evil.example) | ``` *b*"
EVIL_LABEL = "</details> ``` x"
TEMPLATE = f"""apiVersion: reconciler/v1
kind: LineKeyTemplate
metadata:
  name: '{EVIL_NAME}'
spec:
  deviceModel: DMS Cisco 6871
  lineKeys:
    - lineKeyIndex: 1
      lineKeyType: PRIMARY_LINE
    - lineKeyIndex: 2
      lineKeyType: SPEED_DIAL
      lineKeyLabel: '{EVIL_LABEL}'
      lineKeyValue: "3100"
"""


def structure(md: str) -> list[str]:
    """The comment's skeleton: its HTML tags, and its fence lines."""
    tags = re.findall(r"</?(?:details|summary|img|code)\b[^>]*>", md)
    fences = [ln for ln in md.splitlines() if ln.startswith("```")]
    return tags + fences


def outside_fences(md: str) -> str:
    """The lines markdown parses (fenced code left out: text in it is inert)."""
    out, fence = [], ""
    for line in md.splitlines():
        if fence:
            fence = "" if line == fence else fence
        elif line.startswith("```"):
            fence = line.removesuffix("diff")
        else:
            out.append(line)
    return "\n".join(out)


def test_a_hostile_template_name_cannot_break_the_pr_comment(sim_cli: SimCli) -> None:
    (sim_cli.repo / "evil.yaml").write_text(TEMPLATE, encoding="utf-8")
    run = sim_cli("plan", "repo", "--format", "markdown")
    assert run.result.exit_code == 0, run.output
    md = run.output
    parsed = outside_fences(md)
    assert "<img" not in parsed and "](http://evil.example)" not in parsed and "*b*" not in parsed
    assert parsed.count("<details>") == parsed.count("</details>") >= 1
    assert parsed.count("<summary>") == parsed.count("</summary>") == parsed.count("<details>")
    # every fence opened is closed by a fence of the same length, longer than any backtick run in it
    blocks: list[tuple[str, list[str]]] = []
    for line in md.splitlines():
        if blocks and blocks[-1][0] and line != blocks[-1][0]:
            blocks[-1][1].append(line)
        elif blocks and blocks[-1][0] and line == blocks[-1][0]:
            blocks.append(("", []))
        elif line.startswith("```"):
            blocks.append((line.removesuffix("diff"), []))
    assert all(not fence for fence, _ in blocks[-1:]), "a fence left open"
    holding = [fence for fence, body in blocks if any("```" in b for b in body)]
    assert holding and all(len(f) > 3 for f in holding), holding
    assert "&lt;/summary&gt;&lt;/details&gt;" in parsed  # the name is shown, as text
    assert EVIL_LABEL in md  # inside a fence: as written


def test_escapes_hold_for_every_markdown_context() -> None:
    assert md_span("a ` b | c") == "``a ` b \\| c``"
    assert md_span("`x`") == "`` `x` ``"
    assert md_fence(['~ label: "``` </details>"']) == ["````", '~ label: "``` </details>"', "````"]
    quoted = md_text("see [here](http://evil) ![img](http://t) </details> `x`\r\nnext")
    assert "](" not in quoted and "<" not in quoted and "`" not in quoted and "\n" not in quoted
    assert "\r" not in md_span("a\rb")
    assert structure(quoted) == []


def test_room_notifications_escape_user_text() -> None:
    from reconciler.errors import ConfigError
    from reconciler.render.notify import error_message

    msg = error_message("apply", ConfigError("template 'x [l](http://evil.example) </details> `y`' refused"))
    assert msg.startswith("**reconciler apply** did not run to the end: template 'x ")
    assert "](http" not in msg and "</details>" not in msg and "`" not in msg

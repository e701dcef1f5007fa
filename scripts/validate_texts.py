"""`make validate`: the replies and texts: four variants each, SMS length, and no number that
is not a sourced one. Errors print `path:line: message`; exit 1 on any."""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.formatting import split_message  # noqa: E402
from core.safety_net import SafetyNet  # noqa: E402

VARIETIES = {"dar_ar", "dar_lat", "ar", "fr"}
# Every number of three digits or more that a text may contain: the sourced lines (8350, 112,
# 141, 177; ../shared/data/README.md), the law 103-13 and its year. Anything else (a phone
# number, a short code) is an error until it is sourced and added here with its source.
ALLOWED_NUMBERS = {"8350", "112", "141", "177", "103-13", "2018"}
FORBIDDEN = re.compile(r"0\s*8000\s*8888|080008888")  # discontinued in 2013
MAX_SMS_MESSAGES = 2
# A number as written: digit groups joined by one space, dot or dash ("05 22 12 34 56").
_NUMBER = re.compile(r"\d+(?:[ .-]\d+)*")


class Report:
    def __init__(self) -> None:
        self.errors: list[str] = []

    def error(self, path: Path, node: yaml.Node, message: str) -> None:
        shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        self.errors.append(f"{shown}:{node.start_mark.line + 1}: {message}")


def _mapping(node: yaml.Node) -> dict[str, tuple[yaml.Node, yaml.Node]]:
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {k.value: (k, v) for k, v in node.value}


def _numbers(text: str) -> list[str]:
    found = []
    for match in _NUMBER.finditer(text):
        written = match.group()
        # "24/7", "1/5", "30 jours" are short: only 3 digits or more can be a line.
        if len(re.sub(r"\D", "", written)) >= 3 and written not in ALLOWED_NUMBERS:
            found.append(written)
    return found


def check_text(report: Report, path: Path, node: yaml.Node, text: str, where: str) -> None:
    if FORBIDDEN.search(text):
        report.error(path, node, f"{where}: the line 0 8000 8888 was discontinued in 2013")
    for number in _numbers(text):
        report.error(path, node, f"{where}: number {number!r} is not a sourced one "
                                 f"(allowed: {', '.join(sorted(ALLOWED_NUMBERS))})")


def check_domain(report: Report, path: Path) -> int:
    root = yaml.compose(path.read_text(encoding="utf-8"))
    responses = _mapping(root).get("responses")
    if not responses:
        report.error(path, root, "no responses")
        return 0
    count = 0
    for name, (key, variants) in _mapping(responses[1]).items():
        seen: dict[str, int] = {}
        for variant in variants.value if isinstance(variants, yaml.SequenceNode) else []:
            fields = _mapping(variant)
            conditions = yaml.safe_load(yaml.serialize(fields["condition"][1])) if "condition" in fields else []
            variety = next((c.get("value") for c in conditions or [] if c.get("name") == "language"), None)
            if variety not in VARIETIES:
                report.error(path, variant, f"{name}: a variant without a language condition")
                continue
            seen[variety] = seen.get(variety, 0) + 1
            text = fields["text"][1].value if "text" in fields else ""
            buttons = yaml.safe_load(yaml.serialize(fields["buttons"][1])) if "buttons" in fields else []
            rendered = "\n".join([text] + [f"{i}. {b['title']}" for i, b in enumerate(buttons, 1)])
            check_text(report, path, variant, rendered, f"{name} ({variety})")
            parts = split_message(rendered, "sms")
            if len(parts) > MAX_SMS_MESSAGES:
                report.error(path, variant, f"{name} ({variety}): {len(parts)} SMS messages of 3 "
                                            f"segments; keep it to {MAX_SMS_MESSAGES}")
        missing = VARIETIES - set(seen)
        doubled = [v for v, n in seen.items() if n > 1]
        if missing:
            report.error(path, key, f"{name}: missing variants {', '.join(sorted(missing))}")
        if doubled:
            report.error(path, key, f"{name}: more than one variant for {', '.join(doubled)}")
        count += 1
    return count


def check_table(report: Report, path: Path, required: dict[str, tuple[str, ...]]) -> int:
    """A `key -> variety -> text` file: four varieties each, sourced numbers only."""
    root = yaml.compose(path.read_text(encoding="utf-8"))
    count = 0
    for key, (knode, value) in _mapping(root).items():
        texts = _mapping(value)
        if "text" in texts:  # canned replies: a label, and the texts under `text`
            texts = _mapping(texts["text"][1])
        missing = VARIETIES - set(texts)
        if missing:
            report.error(path, knode, f"{key}: missing varieties {', '.join(sorted(missing))}")
        for variety, (vnode, tnode) in texts.items():
            text = str(tnode.value)
            check_text(report, path, vnode, text, f"{key} ({variety})")
            for needed in required.get(key, ()):
                if needed not in text:
                    report.error(path, vnode, f"{key} ({variety}) must contain {needed!r}")
            if key == "neutral_preview" and len(text) < 40:
                report.error(path, vnode, f"neutral_preview ({variety}) must fill the 40 characters a "
                                          f"lock screen shows ({len(text)})")
        count += 1
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT)
    args = parser.parse_args(argv)
    report = Report()
    responses = check_domain(report, args.root / "domain.yml")
    texts = check_table(report, args.root / "data" / "texts" / "gateway.yml",
                        {"static_fallback": ("8350", "19", "177"), "handoff_timeout": ("8350",)})
    canned = check_table(report, args.root / "data" / "texts" / "canned.yml", {})
    check_table(report, args.root / "data" / "texts" / "directory.yml", {})
    try:
        SafetyNet.load(args.root / "data" / "safety_net.yml")
    except (ValueError, KeyError, yaml.YAMLError) as exc:
        report.errors.append(str(exc))
    if report.errors:
        print("\n".join(report.errors))
        print(f"validate_texts: {len(report.errors)} problem(s)", file=sys.stderr)
        return 1
    print(f"validate_texts: OK: {responses} responses x 4 varieties, {texts} gateway texts, "
          f"{canned} canned replies, safety net patterns compile")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Rendering a planned email with its Jinja2 templates: a subject, a text body and an HTML body."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from .domain.emails import PlannedEmail

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"

_environment = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=StrictUndefined,  # a missing figure is a bug, never a blank in a guest's email
    keep_trailing_newline=True,
)


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def render(email: PlannedEmail) -> RenderedEmail:
    """The subject and both bodies of ``email``."""
    subject = email.subject
    context = {**email.context, "subject": subject}
    text = _environment.get_template(f"{email.template}.txt").render(context)
    html = _environment.get_template(f"{email.template}.html").render(context)
    return RenderedEmail(subject=subject, text=text, html=html)

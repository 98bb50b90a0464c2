#!/usr/bin/env python3
"""Renders a chat template as Hugging Face transformers' apply_chat_template does (its
_compile_jinja_template): Jinja2's ImmutableSandboxedEnvironment with trim_blocks and lstrip_blocks,
the loopcontrols extension, a tojson filter with ensure_ascii=False, and the raise_exception and
strftime_now globals. Reads {template, messages, add_generation_prompt, bos_token?, eos_token?} as
JSON on stdin and writes the rendered text to stdout, byte for byte."""
import json
import sys
from datetime import datetime

import jinja2.ext
from jinja2.exceptions import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment


def raise_exception(message):
    raise TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def strftime_now(fmt):
    return datetime.now().strftime(fmt)


def main():
    req = json.load(sys.stdin)
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    special = {k: req[k] for k in ("bos_token", "eos_token") if req.get(k) is not None}
    text = env.from_string(req["template"]).render(
        messages=req["messages"], add_generation_prompt=req["add_generation_prompt"], **special)
    sys.stdout.buffer.write(text.encode("utf-8"))


if __name__ == "__main__":
    main()

"""Prompt names: the sentence-transformers convention, ``query`` and ``document``.

e5 models are trained with a prefix on each side ("query: " / "passage: ", Wang et al. 2022,
arXiv 2212.03533 §4.2). sentence-transformers stores such prefixes in a model folder's
``config_sentence_transformers.json`` under prompt *names*; since v5 ``encode_query`` uses the name
``query`` and ``encode_document`` the name ``document``, and MTEB looks up the same two names. A folder
that keeps its passage prefix under any other name is silently encoded without it by those tools
(MTEB and xlir then disagree with no error on either side).

So xlir writes ``query`` and ``document``, and reads ``passage`` (the name older xlir folders used) as
an alias of ``document``: :func:`prefix` is what every xlir encoder asks, whichever way the model was
loaded. :func:`normalise` renames the alias in a loaded model, so a model xlir saves again carries the
standard names. ``default_prompt_name`` (the prompt plain ``model.encode`` applies) is ``query`` for the
folders xlir builds: e5 uses "query: " for symmetric tasks (similarity, bitext mining), which is what a
prompt-less ``encode`` call or an MTEB task without a document side needs.
"""

from __future__ import annotations

from collections.abc import Mapping

QUERY = "query"
DOCUMENT = "document"
#: Other names of the document prompt, in the order sentence-transformers' ``encode_document`` tries
#: them after ``document``; ``passage`` is what xlir wrote before.
DOCUMENT_ALIASES = ("passage", "corpus")
ROLES = (QUERY, DOCUMENT)
E5_PROMPTS = {QUERY: "query: ", DOCUMENT: "passage: "}


def prefix(prompts: Mapping[str, str | None] | None, role: str) -> str:
    """The text to put before a ``role`` ("query" or "document"; "passage" is accepted too) input.

    The document prefix is the first non-empty one of ``document``, ``passage``, ``corpus``:
    sentence-transformers fills a missing ``document`` with "" when it loads a folder, so an empty
    ``document`` must not hide a ``passage`` saved by an older xlir.
    """
    prompts = prompts or {}
    if role == QUERY:
        return prompts.get(QUERY) or ""
    if role not in (DOCUMENT, *DOCUMENT_ALIASES):
        raise ValueError(f"unknown prompt role {role!r}; use {QUERY!r} or {DOCUMENT!r}")
    for name in (DOCUMENT, *DOCUMENT_ALIASES):
        if prompts.get(name):
            return prompts[name]
    return ""


def role_prompts(prompts: Mapping[str, str | None] | None) -> dict[str, str]:
    """``{"query": ..., "document": ...}``: the two prefixes retrieval uses, aliases resolved."""
    return {role: prefix(prompts, role) for role in ROLES}


def normalise(model) -> None:
    """Give a loaded sentence-transformers ``model`` the standard prompt names, in place.

    ``passage``/``corpus`` become ``document`` (their prefix kept), missing roles become "", other
    prompts (task-specific ones a model may carry) stay as they are.
    """
    prompts = dict(model.prompts or {})
    roles = role_prompts(prompts)
    for alias in DOCUMENT_ALIASES:
        prompts.pop(alias, None)
    prompts.update(roles)
    model.prompts = prompts
    if model.default_prompt_name in DOCUMENT_ALIASES:
        model.default_prompt_name = DOCUMENT  # it named an alias that was folded into ``document``


def default_prompt_name(prompts: Mapping[str, str | None] | None) -> str | None:
    """``query`` when the model has a query prefix (e5's choice for symmetric tasks), else None."""
    return QUERY if prefix(prompts, QUERY) else None

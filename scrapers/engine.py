"""The interface every engine module offers, and a helper to build its three parse functions.

An engine module has ``NAME``, ``board_url``, ``thread_url``, ``tid_from_url``,
``uid_from_url(url, site)`` (the user id in a profile link, as text: a number such as "30" or
a name; None when the link names no user), ``parse_thread_list``, ``parse_thread`` and
``parse_page`` (and optionally ``feed_url``, ``profile_url(site, uid)``). User ids are text
everywhere (records, database, config): numeric engines give the number's decimal string.
Engines whose one ``_parse(page, site, want)`` picks the page's kind get the three parse
functions from :func:`kind_parsers`.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urljoin

from scrapers.errors import ParseError
from scrapers.lxmlutil import base_of, html_doc, xall, xfirst
from scrapers.records import ParsedPage, PromptPage, Site

KindParse = Callable[[object, Site, "str | None"], ParsedPage]


def kind_parsers(parse: KindParse):
    """(parse_thread_list, parse_thread, parse_page) over ``parse(page, site, want)``."""

    def parse_thread_list(page, site: Site) -> ParsedPage:
        """A board page: its thread rows and the next page (or a prompt page)."""
        return parse(page, site, "thread_list")

    def parse_thread(page, site: Site) -> ParsedPage:
        """A thread page: its posts and the next page (or a prompt page)."""
        return parse(page, site, "thread")

    def parse_page(page, site: Site) -> ParsedPage:
        """Whatever the page is: a board list, a thread, or a prompt."""
        return parse(page, site, None)

    return parse_thread_list, parse_thread, parse_page


def fetch_page(engine, fetcher, url: str, site: Site):
    """One page fetched the way its engine says (its optional ``fetch(fetcher, url, site)``: a JSON
    endpoint may want a POST, phpwind 9 lists boards elsewhere than 8.x), else a plain GET."""
    fetch = getattr(engine, "fetch", None)
    return fetch(fetcher, url, site) if fetch else fetcher.get(url)


def paged_url(site: Site, path: str, page: int = 1) -> str:
    """``path`` on the forum, with ``&page=N`` from page 2 on (how these engines number pages)."""
    url = urljoin(site.base_url, path)
    return url if page == 1 else f"{url}&page={page}"


def marker_parser(kinds: dict[str, tuple[str, Callable, str]], detect_prompt: Callable[[object], PromptPage | None],
                  engine_name: str) -> KindParse:
    """A ``parse(page, site, want)`` that picks the page's kind by one marker XPath each.

    ``kinds`` maps a kind to (marker, builder(doc, page, site), what is missing when the marker
    is absent). A page of none of the kinds is the forum's prompt page, else a ParseError."""

    def parse(page, site: Site, want: str | None) -> ParsedPage:
        doc = html_doc(page.text, page.url)
        for kind in ([want] if want else list(kinds)):
            marker, build, _ = kinds[kind]
            if xfirst(doc, marker) is not None:
                return build(doc, page, site)
        prompt = detect_prompt(doc)
        if prompt:
            return prompt
        if want:
            raise ParseError(page.url, f"{kinds[want][2]} on this page; is it a {engine_name} "
                                       f"{want.replace('_', ' ')} page?")
        raise ParseError(page.url, f"neither a {engine_name} board list, a thread nor a prompt page")

    return parse


def fill_login_form(page, values: dict[str, str], defaults: dict[str, str], captcha: str,
                    default_action: str) -> tuple[str, dict[str, str]]:
    """(action URL, fields) of the login form on ``page``, filled in.

    The form is the one holding the inputs named by the first two keys of ``values``
    (user name, password). Its hidden inputs are kept, ``defaults`` fill what it lacks
    and ``values`` are set. ParseError when there is no such form, or when ``captcha``
    (an XPath inside the form) finds a captcha input."""
    doc = html_doc(page.text, page.url)
    user, password = list(values)[:2]
    form = xfirst(doc, "//form[.//input[@name=$user] and .//input[@name=$password]]", user=user, password=password)
    if form is None:
        raise ParseError(page.url, f"no login form (input {user}/{password}) on the login page")
    if xfirst(form, captcha) is not None:
        raise ParseError(page.url, "the login form asks for a captcha (验证码): use a cookie from a browser instead")
    filled = {i.get("name"): i.get("value") or "" for i in xall(form, ".//input[@type='hidden' and @name]")}
    filled = {**defaults, **{k: v for k, v in filled.items() if v or k not in defaults}, **values}
    return urljoin(base_of(doc, page.url), form.get("action") or default_action), filled


def login_reply(page, detect_prompt: Callable[[object], PromptPage | None]) -> tuple[PromptPage | None, str]:
    """The forum's answer to a posted login form: its prompt page (if it is one) and the message."""
    try:
        prompt = detect_prompt(html_doc(page.text, page.url))
    except ParseError:
        prompt = None
    message = prompt.message if prompt else re.sub(r"<[^>]+>|<!\[CDATA\[|\]\]>", " ", page.text).strip()[:200]
    return prompt, " ".join(message.split())

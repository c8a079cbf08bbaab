"""Parser benchmark across engines: the same thread and board pages in each engine's markup.

Run by hand:  .venv/bin/python benchmarks/engines_benchmark.py [--rounds 300]

For every engine the demo forum can serve (Discuz! X desktop, Discuz! 7, phpwind 8,
phpwind 9), renders the bundled scenario's longest thread (page 1, GBK) and its board's
first list page, then prints, measured in the same run and alternating engines so that
machine load hits them alike:
  * thread pages parsed per second, and that rate ÷ lxml's bare parse of the same bytes
    (the floor no parser can beat: decoding + building the tree);
  * board pages parsed per second, and the same ratio.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import lxml.html  # noqa: E402

from monitor.demoforum import render, render_legacy  # noqa: E402
from monitor.demoforum.scenario import load_scenario  # noqa: E402
from scrapers import get_engine  # noqa: E402
from scrapers.records import Page, Site  # noqa: E402

SITE = Site("http://127.0.0.1:8089/")
FLAVORS = {"discuz": "discuz-x", "discuz7": "discuz7", "phpwind": "phpwind", "phpwind 9": "phpwind9"}


def pages_for(flavor: str, s, now) -> tuple[bytes, bytes]:
    hot = max(s.threads, key=lambda t: len(t.posts))
    v = s.visible(hot, now)
    if flavor == "discuz-x":
        thread, board = render.render_thread(s, v, 1, now, SITE.base_url), render.render_board(s, 2, 1, now, SITE.base_url)
    else:
        thread = render_legacy.render_thread(s, v, 1, now, SITE.base_url, flavor)
        board = render_legacy.render_board(s, 2, 1, now, SITE.base_url, flavor)
    return thread.encode("gbk", "xmlcharrefreplace"), board.encode("gbk", "xmlcharrefreplace")


def cpu_rate(work, rounds: int) -> float:
    start = time.process_time()
    for _ in range(rounds):
        work()
    return rounds / (time.process_time() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=300)
    args = ap.parse_args()
    s = load_scenario()
    now = s.default_now
    rates: dict[str, dict[str, list[float]]] = {name: {"thread": [], "board": [], "lxml_t": [], "lxml_b": []}
                                                 for name in FLAVORS}
    bodies = {name: pages_for(flavor, s, now) for name, flavor in FLAVORS.items()}
    for _ in range(3):  # alternate engines, three passes; keep each one's best
        for name in FLAVORS:
            engine = get_engine(name.split(" ")[0])
            thread, board = bodies[name]
            tid = max(s.threads, key=lambda t: len(t.posts)).tid
            turl, burl = engine.thread_url(SITE, tid), engine.board_url(SITE, 2)
            r = rates[name]
            r["thread"].append(cpu_rate(lambda: engine.parse_thread(Page(turl, thread, now), SITE), args.rounds))
            r["lxml_t"].append(cpu_rate(lambda: lxml.html.document_fromstring(Page(turl, thread, now).text),
                                        args.rounds))
            r["board"].append(cpu_rate(lambda: engine.parse_thread_list(Page(burl, board, now), SITE), args.rounds))
            r["lxml_b"].append(cpu_rate(lambda: lxml.html.document_fromstring(Page(burl, board, now).text),
                                        args.rounds))
    print(f"{'engine':<10} {'thread KB':>9} {'threads/s':>10} {'÷ bare lxml':>11} "
          f"{'board KB':>9} {'boards/s':>9} {'÷ bare lxml':>11}")
    for name, r in rates.items():
        thread, board = bodies[name]
        print(f"{name:<10} {len(thread) / 1024:>9.1f} {max(r['thread']):>10.0f} "
              f"{max(r['thread']) / max(r['lxml_t']):>11.2f} {len(board) / 1024:>9.1f} {max(r['board']):>9.0f} "
              f"{max(r['board']) / max(r['lxml_b']):>11.2f}")


if __name__ == "__main__":
    main()

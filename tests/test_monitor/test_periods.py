from __future__ import annotations

from datetime import date

import pytest

from monitor.periods import parse_period


@pytest.mark.parametrize("text,first,last", [
    ("2011Q1", date(2011, 1, 1), date(2011, 3, 31)),
    ("2012q4", date(2012, 10, 1), date(2012, 12, 31)),
    ("2011-02", date(2011, 2, 1), date(2011, 2, 28)),
    ("2012-02", date(2012, 2, 1), date(2012, 2, 29)),
    ("2011", date(2011, 1, 1), date(2011, 12, 31)),
    ("2011-01-10..2011-01-20", date(2011, 1, 10), date(2011, 1, 20)),
])
def test_periods(text, first, last):
    p = parse_period(text)
    assert (p.first, p.last) == (first, last)


@pytest.mark.parametrize("text", ["2011Q5", "2011-13", "Q1", "2011-03-01..2011-02-01", ""])
def test_bad_periods_say_what_is_accepted(text):
    with pytest.raises(ValueError, match="use 2011Q1, 2011-03"):
        parse_period(text)

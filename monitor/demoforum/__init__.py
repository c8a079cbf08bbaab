"""The demo forum: a small server that serves a scenario in real Discuz! X markup.

It is the product's demo (``spokeswatch demo``) and the end-to-end test bed:
pages are GBK-encoded like most such forums, times are shown relatively
against a settable clock, and the Date header carries that clock.
"""

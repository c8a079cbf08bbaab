# Two entry points for a fresh clone: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

$(BIN)/spokeswatch: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

.PHONY: install browser misago demo test
install: $(BIN)/spokeswatch

# a real Misago forum (its own virtualenv: it pins its own Django) for the JSON-engine tests
misago: install
	@bash tests/test_generic/setup_misago.sh

# Debian's chromium (the browser tests drive it with Playwright) and a CJK font (charts and
# pages in Chinese); installed with apt-get when missing and run as root, else the tests say why they skip
APT_PACKAGES := chromium fonts-wqy-microhei
browser:
	@if command -v chromium >/dev/null && fc-list :lang=zh family | grep -q .; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(APT_PACKAGES) >/dev/null \
		|| { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(APT_PACKAGES) >/dev/null; }; \
	else echo "note: install $(APT_PACKAGES) (Debian) for the browser tests and Chinese charts"; fi

demo: install browser
	$(BIN)/spokeswatch demo --out demo-out

test: install browser misago
	$(BIN)/pytest -q

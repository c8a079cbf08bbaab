"""`python -m monitor` runs the spokeswatch CLI."""
from monitor.cli import main

main()

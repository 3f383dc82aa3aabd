"""`python -m adsuite` runs the command line."""

from adsuite.cli.main import main

main()

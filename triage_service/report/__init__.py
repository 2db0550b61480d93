"""The monthly board report: a health board's figures for one local calendar month, as JSON,
a printable page and a PDF."""

"""Test support of one service each, installed with hotelmate_devtools so that tests import it by name (no sys.path edits)."""

"""The headless core of jtui: no Textual may be imported from here."""

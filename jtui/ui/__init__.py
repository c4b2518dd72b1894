"""Textual widgets and screens of jtui."""

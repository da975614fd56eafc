"""Stagecraft's reference backend: one codebase, its role chosen by settings.json."""

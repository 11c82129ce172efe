"""Definitions: the file format, its loader and validator, and the frozen model they produce."""

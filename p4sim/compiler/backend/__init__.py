"""Backends: BMv2 JSON and P4Info generation from the lowered program."""

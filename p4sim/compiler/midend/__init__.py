"""Midend: lowers the checked AST to BMv2 objects and control-plane entities.

Everything is inlined the way p4c's midend does for BMv2: sub-parsers and
sub-controls are expanded with instance-prefixed names, actions called from
actions are expanded in place, locals become fields of the ``scalars``
metadata header, enums/errors become numbers and apply blocks become a graph
of tables and conditionals.
"""

"""p4sim: the embedded P4 target.

A P4_16 (v1model) compiler to BMv2 JSON and P4Info (``p4sim.compiler``), a software
switch that runs BMv2 JSON (``p4sim.engine``) and a P4Runtime server around it
(``p4sim.p4runtime``, ``p4sim.switch``).  It knows nothing of load balancing.
"""

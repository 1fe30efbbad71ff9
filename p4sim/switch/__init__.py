"""p4sim.switch: the ``p4sim-switch`` process, a drop-in for BMv2's ``simple_switch_grpc``."""

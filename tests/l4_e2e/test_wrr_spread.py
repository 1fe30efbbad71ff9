"""wrr spreads new connections in proportion to the weights, through each L4 VIP.

Three nginx backends weighted 1, 2, 3; 1000 short requests (a new connection each,
``Connection: close``) per mode, counted by the backend name in the page.  Each backend's
share must be within 5% (of its expected share) of weight / sum of weights, and no request
may fail.
"""

from __future__ import annotations

import pytest
from l4_network import NetworkFactory

from topologies.lbd_config import service_name
from topologies.traffic import FAILED, spread

WEIGHTS = {"b1": 1, "b2": 2, "b3": 3}
REQUESTS = 1000
TOLERANCE = 0.05


@pytest.mark.timeout(150)
def test_wrr_spreads_1000_requests_by_weight_through_nat_dr_and_tun(
        lb_network: NetworkFactory) -> None:
    network = lb_network(modes=("nat", "dr", "tun"), scheduler="wrr")
    assert network.controller is not None
    site = network.sites[0]
    for backend, weight in WEIGHTS.items():  # the pool is shared by both services
        network.controller.lbctl("backend", "weight", service_name(site, "nat"), backend,
                                 str(weight))
    clients = [network.host(plan.name) for plan in site.clients]
    total_weight = sum(WEIGHTS.values())
    for mode in ("nat", "dr", "tun"):
        counts = spread(clients, site.vips[mode], REQUESTS)
        assert counts.get(FAILED, 0) == 0, f"{mode}: {counts}"
        assert sum(counts.values()) == REQUESTS
        for backend, weight in WEIGHTS.items():
            expected = REQUESTS * weight / total_weight
            assert abs(counts[backend] - expected) <= TOLERANCE * expected, \
                f"{mode}: {dict(counts)} not within {TOLERANCE:.0%} of weights {WEIGHTS}"

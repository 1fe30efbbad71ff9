"""A Mininet switch that is a P4Runtime switch process (embedded p4sim or BMv2).

The switch runs in the root namespace, like Mininet's other software switches: Mininet's
veth ends named in the switch become its data-plane ports (``-i <port>@<intf>``, Mininet port
numbers), and each switch gets its own gRPC port on 127.0.0.1.  There is no OpenFlow: build the
network with ``controller=None``; the P4Runtime controller is started by the topology.
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

from mininet.node import Switch

from topologies.switch_process import (
    SwitchConfig,
    SwitchProcess,
    Target,
    offload_default,
    port_accepts,
)

OFFLOADS = "tx off sg off tso off gso off gro off"


def disable_offloads(intf: Any) -> None:
    """Checksums and segmentation in software on both ends of a switch link.

    A switch that reads plain frames with AF_PACKET (BMv2, ``p4sim-switch --no-offload``):
    with TX checksum offload the host's TCP checksums are still unfinished there (and
    forwarded broken), and with GSO/GRO frames bigger than the MTU appear.  Real NICs do this
    work; veth pairs leave it undone.  ``p4sim-switch``'s offload ports handle both, so its
    links keep the offloads on.
    """
    intf.node.cmd(f"ethtool -K {intf.name} {OFFLOADS} >/dev/null 2>&1")


class P4Switch(Switch):  # type: ignore[misc]  # mininet ships no type information
    """Mininet node parameters (``net.addSwitch(name, cls=P4Switch, ...)``):

    grpc_port: TCP port of the P4Runtime server on 127.0.0.1 (required, one per switch)
    device_id: P4Runtime device id
    target: ``embedded`` (default) or ``bmv2``
    json_path: BMv2 JSON to load at start; None starts with ``--no-p4`` and lets the
        controller push the pipeline with SetForwardingPipelineConfig
    cpu_port: the CPU port for packet-in/out, None for none
    log_dir: directory for ``<name>.log`` (and ``<name>-pcap/`` with ``pcap=True``)
    thrift_port: BMv2 only, distinct per BMv2 instance
    offload: embedded only, the switch's offload path (default: ``P4SIM_OFFLOAD``, on)
    """

    def __init__(
        self,
        name: str,
        *,
        grpc_port: int,
        log_dir: str,
        device_id: int = 0,
        target: str = Target.EMBEDDED.value,
        json_path: str | None = None,
        cpu_port: int | None = None,
        pcap: bool = False,
        log_level: str | None = None,
        thrift_port: int | None = None,
        offload: bool | None = None,
        **params: Any,
    ) -> None:
        super().__init__(name, **params)
        self.grpc_port = grpc_port
        self.device_id = device_id
        self.target = Target(target)
        self.json_path = json_path
        self.cpu_port = cpu_port
        self.log_dir = Path(log_dir)
        self.pcap = pcap
        self.log_level = log_level
        self.thrift_port = thrift_port
        self.offload = offload_default() if offload is None else offload
        self.process: SwitchProcess | None = None

    @property
    def grpc_addr(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    @property
    def log_path(self) -> Path:
        return self.log_dir / f"{self.name}.log"

    def data_ports(self) -> list[tuple[int, str]]:
        """(port number, interface name) of every data-plane port, without Mininet's ``lo``."""
        return sorted(
            (self.ports[intf], intf.name) for intf in self.intfList() if intf.name != "lo"
        )

    def switch_config(self) -> SwitchConfig:
        return SwitchConfig(
            target=self.target,
            ports=self.data_ports(),
            grpc_port=self.grpc_port,
            device_id=self.device_id,
            json_path=self.json_path,
            cpu_port=self.cpu_port,
            pcap_dir=str(self.log_dir / f"{self.name}-pcap") if self.pcap else None,
            log_level=self.log_level,
            thrift_port=self.thrift_port,
            offload=self.offload,
        )

    def start(self, controllers: list[Any]) -> None:
        """Mininet calls this once links exist; returns when gRPC accepts connections."""
        config = self.switch_config()
        for intf in self.intfList():
            if intf.name == "lo":
                continue
            # The kernel must not answer or originate anything on switch ports.
            self.cmd(f"sysctl -qw net.ipv6.conf.{intf.name}.disable_ipv6=1")
            intf.ifconfig("up")
            if not config.uses_offload:
                for end in (intf.link.intf1, intf.link.intf2) if intf.link else (intf,):
                    disable_offloads(end)
        self.process = SwitchProcess(config, self.log_path)
        self.process.start()

    def restart(self, signum: signal.Signals = signal.SIGTERM) -> None:
        """A new switch process in place of the running one (same ports, same gRPC port),
        started as at first: its tables are empty until the controller reprograms it."""
        if self.process is not None:
            self.process.stop(signum=signum)
        self.process = SwitchProcess(self.switch_config(), self.log_path)
        self.process.start()

    def connected(self) -> bool:
        return self.process is not None and self.process.running() and port_accepts(
            "127.0.0.1", self.grpc_port
        )

    def stop(self, deleteIntfs: bool = True) -> None:  # noqa: N803  # Mininet's signature
        if self.process is not None:
            self.process.stop()
            self.process = None
        super().stop(deleteIntfs)

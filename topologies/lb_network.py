"""A running load-balancer network: Mininet hosts, P4 switches, web servers and lbd.

``LbNetwork`` is a context manager: entering builds and starts everything for the given sites
(see addressing.py), leaving (normally, on an error, on Ctrl-C or SIGTERM via
``install_signal_handlers``) stops every process it started and removes every interface.
Names of root-namespace interfaces carry the run tag (``lb<4 hex>``), so that concurrent runs
never collide and ``python -m topologies.cleanup`` can find leftovers of a killed run.
"""

from __future__ import annotations

import secrets
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import FrameType
from typing import Any

from mininet.log import setLogLevel
from mininet.net import Mininet
from mininet.node import Host

from topologies import runs
from topologies.addressing import (
    CPU_PORT,
    DIRECT_PORT,
    L7_BACKEND_PORT,
    MODES,
    SERVICE_PORT,
    SitePlan,
)
from topologies.backend_setup import configure_dr, configure_host, configure_tun
from topologies.controller_process import LbdProcess
from topologies.lbd_config import ha_instances, lbd_config, write_lbd_config
from topologies.monitor import attach_monitor, remove_monitors
from topologies.p4build import LB_PROGRAM, CompiledFiles, compile_program
from topologies.p4switch import P4Switch
from topologies.switch_process import Target
from topologies.webserver import WebServer

INTERRUPTS = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
BACKEND_LINK_MTU = 1600  # room for TUN mode's outer header on the switch -> backend links


@dataclass(frozen=True)
class NetworkOptions:
    target: Target = Target.EMBEDDED
    modes: tuple[str, ...] = MODES
    scheduler: str = "rr"
    pcap: bool = False
    run_dir: Path | None = None  # default: a new /tmp/p4lb-<tag>
    nginx: bool = True  # False: Python's http.server
    connection_idle_timeout: float = 30.0  # lbd: an idle pinned connection has ended
    # lbd health-checks every pool with this check (a health_checks entry, docs/config.md)
    # from each site's monitoring leg (topologies/monitor.py); None: no checks
    health_check: Mapping[str, Any] | None = None
    controllers: int = 1  # lbd instances; more than one: primary and backups (docs/ha.md)


def free_tcp_ports(count: int) -> list[int]:
    """Ports the kernel just handed out on 127.0.0.1 (free a moment ago; good enough here)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


class LbNetwork:
    def __init__(self, sites: Sequence[SitePlan], options: NetworkOptions) -> None:
        for mode in options.modes:
            if mode not in MODES:
                raise ValueError(f"unknown mode {mode!r} (choose from {', '.join(MODES)})")
        self.sites = tuple(sites)
        self.options = options
        self.tag = secrets.token_hex(2)
        self.run_dir = options.run_dir or Path(tempfile.mkdtemp(prefix=f"p4lb-{self.tag}-"))
        self.net: Any = None
        self.controller: LbdProcess | None = None  # the primary when the network starts
        self.standbys: list[LbdProcess] = []  # further lbd instances, started as backups
        self.servers: list[WebServer] = []
        self.helpers: list[Any] = []  # per-host helper processes (ipip_decap)
        self.monitors: dict[str, Path] = {}  # switch -> its monitoring namespace
        self.program: CompiledFiles | None = None

    # --- lifecycle -----------------------------------------------------------------------
    def __enter__(self) -> LbNetwork:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        runs.register(self.run_dir, self.tag)
        self.program = compile_program(LB_PROGRAM, self.run_dir / "build", self.options.target)
        setLogLevel("output")  # Mininet CLI results print at this level
        self.net = Mininet(controller=None, build=False, autoSetMacs=False,
                           autoStaticArp=False, waitConnected=False)
        for site in self.sites:
            self._add_site(site)
        self.net.build()
        try:
            self.net.start()  # starts each P4Switch and waits for its gRPC port
        finally:
            for site in self.sites:
                switch = self.switch(site.switch)
                if switch.process is not None and switch.process.pid is not None:
                    runs.record_pid(self.run_dir, switch.process.pid)
        for site in self.sites:
            for plan in site.hosts:
                configure_host(self.net[plan.name], plan)
            for plan in site.backends:
                self._set_up_backend(site, plan)
            if self.options.health_check is not None:
                self.monitors[site.switch] = attach_monitor(self.tag, site, {
                    plan.port: self._switch_interface(site, plan.port) for plan in site.backends})
        self._start_controller()

    def _add_site(self, site: SitePlan) -> None:
        switch = self.net.addSwitch(
            site.switch, cls=P4Switch, grpc_port=site.grpc_port, device_id=site.device_id,
            target=self.options.target.value, cpu_port=CPU_PORT, log_dir=str(self.run_dir),
            pcap=self.options.pcap, thrift_port=9090 + site.device_id)
        for plan in site.hosts:
            host = self.net.addHost(plan.name, cls=Host, ip=plan.cidr, mac=plan.mac)
            runs.record_pid(self.run_dir, host.pid)  # the host's shell holds its namespace
            params = {"mtu": BACKEND_LINK_MTU} if plan in site.backends else {}
            self.net.addLink(host, switch, port2=plan.port, intfName1=f"{plan.name}-eth0",
                             intfName2=self._switch_interface(site, plan.port),
                             params1=params, params2=params)

    def _switch_interface(self, site: SitePlan, port: int) -> str:
        return f"lb{self.tag}{site.switch}p{port}"

    def _set_up_backend(self, site: SitePlan, plan: Any) -> None:
        host = self.net[plan.name]
        if "dr" in self.options.modes:
            configure_dr(host, site.vips["dr"])
        if "tun" in self.options.modes:
            helper = configure_tun(host, site.vips["tun"], self.run_dir)
            if helper is not None:
                self.helpers.append(helper)
                runs.record_pid(self.run_dir, helper.pid)
        ports = (SERVICE_PORT, DIRECT_PORT) + (
            (L7_BACKEND_PORT,) if "l7" in self.options.modes else ())
        server = WebServer(host, plan.name, plan.ip, self.run_dir / "www" / plan.name,
                           ports=ports, prefer_nginx=self.options.nginx)
        self.servers.append(server)
        server.start()
        for process in server.processes:
            runs.record_pid(self.run_dir, process.pid)

    def _start_controller(self) -> None:
        assert self.program is not None
        api_socket = self.run_dir / "lbd.sock"
        config = lbd_config(self.sites, p4info=self.program.p4info_path,
                            bmv2_json=self.program.json_path, api_socket=api_socket,
                            modes=self.options.modes, scheduler=self.options.scheduler,
                            connection_idle_timeout=self.options.connection_idle_timeout,
                            health_check=self.options.health_check, monitors=self.monitors)
        self._start_lbds(config)

    def _start_lbds(self, config: dict[str, Any]) -> None:
        """lbd with ``config``; with ``controllers`` > 1 the first of the instances, then
        the others once each is a backup of every switch."""
        switches = [site.switch for site in self.sites]
        for i, (name, instance) in enumerate(ha_instances(config, self.run_dir,
                                                          self.options.controllers)):
            lbd = LbdProcess(write_lbd_config(self.run_dir / f"{name}.yaml", instance),
                             Path(instance["api"]["unix_socket"]), self.run_dir / f"{name}.log")
            if i == 0:
                self.controller = lbd
            else:
                self.standbys.append(lbd)
            lbd.start(switches, backup=i > 0)
            if lbd.pid is not None:
                runs.record_pid(self.run_dir, lbd.pid)

    def restart_controller(self, signum: signal.Signals = signal.SIGTERM,
                           away: float = 0.0) -> None:
        """Stop lbd with ``signum`` (SIGKILL: no clean shutdown at all), wait ``away``
        seconds and start it again with the same config; returns once it has synchronised
        every switch."""
        assert self.controller is not None
        self.controller.stop(signum=signum)
        time.sleep(away)
        self.controller.start([site.switch for site in self.sites])
        if self.controller.pid is not None:
            runs.record_pid(self.run_dir, self.controller.pid)

    def restart_switch(self, name: str, signum: signal.Signals = signal.SIGTERM) -> None:
        """Stop switch ``name``'s process with ``signum`` and start a new one on the same
        interfaces and gRPC port, empty (``--no-p4``): lbd must notice and reprogram it."""
        switch = self.switch(name)
        switch.restart(signum)
        if switch.process is not None and switch.process.pid is not None:
            runs.record_pid(self.run_dir, switch.process.pid)

    def stop(self) -> None:
        """Idempotent; stops in reverse order of start, whatever state start() reached.

        Ctrl-C and SIGTERM are held back meanwhile (delivered afterwards), so that an impatient
        second interrupt cannot leave half the network behind."""
        held = signal.pthread_sigmask(signal.SIG_BLOCK, INTERRUPTS)
        try:
            self._stop()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)

    def _stop(self) -> None:
        """Every step runs even if an earlier one fails; the first failure is re-raised."""
        controllers = [self.controller, *self.standbys]
        self.controller, self.standbys = None, []
        servers, self.servers = self.servers, []
        helpers, self.helpers = self.helpers, []
        net, self.net = self.net, None
        steps: list[Callable[[], object]] = []
        steps += [lbd.stop for lbd in controllers if lbd is not None]
        steps += [server.stop for server in servers]
        steps += [partial(stop_process, helper) for helper in helpers]
        if net is not None:
            # The switch processes go last again, in case Mininet's shutdown was cut short.
            steps += [partial(settle_shells, net), net.stop,
                      partial(stop_switch_processes, net)]
        steps += [partial(remove_monitors, self.tag), partial(runs.remove_interfaces, self.tag),
                  partial(runs.unregister, self.run_dir)]
        failure: BaseException | None = None
        for step in steps:
            try:
                step()
            except Exception as error:  # noqa: BLE001  # keep cleaning, report the first
                failure = failure or error
        if failure is not None:
            raise failure

    # --- access --------------------------------------------------------------------------
    def host(self, name: str) -> Any:
        return self.net[name]

    def switch(self, name: str) -> P4Switch:
        return self.net[name]  # type: ignore[no-any-return]


def stop_process(process: Any) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def stop_switch_processes(net: Any) -> None:
    for switch in net.switches:
        if isinstance(switch, P4Switch) and switch.process is not None:
            switch.process.stop()
            switch.process = None


def settle_shells(net: Any, timeout: float = 5.0) -> None:
    """Interrupt host commands cut short by an exception, so that Mininet can use the shells
    again when it stops (it asserts that no command is running, and its own commands would
    wait behind one).  A command that outlives Ctrl-C (it ignores SIGINT) is killed."""
    for node in net.hosts:
        if not node.shell or not node.waiting:
            continue
        node.sendInt()
        if not _wait_for_prompt(node, timeout):
            subprocess.run(["pkill", "-KILL", "-P", str(node.pid)], capture_output=True,
                           check=False)
            _wait_for_prompt(node, timeout)
        node.waiting = False


def _wait_for_prompt(node: Any, timeout: float) -> bool:
    """Whether the node's running command ended within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while node.waiting and time.monotonic() < deadline:
        node.monitor(timeoutms=200)
    return not node.waiting


def install_signal_handlers() -> None:
    """SIGTERM/SIGHUP raise KeyboardInterrupt, so ``with LbNetwork(...)`` cleans up.

    SIGINT is given Python's KeyboardInterrupt handler even when it was ignored on entry (a
    parent's SIG_IGN survives exec, and Python then leaves it): ignored here, it would stay
    ignored in every host command, which the Ctrl-C of :func:`settle_shells` could not stop."""
    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    # a signal mask is inherited: a parent that blocked these must not make us deaf to them
    signal.pthread_sigmask(signal.SIG_UNBLOCK, INTERRUPTS)

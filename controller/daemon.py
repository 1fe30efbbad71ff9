"""lbd: the load-balancer controller daemon.

Reads the YAML config (exit 2 with every problem listed if it is invalid), then runs,
on one asyncio loop: a finsy Controller with one agent per switch, the housekeeping task,
the server monitor (health checks) and the management API.  SIGTERM or SIGINT stop it
cleanly; the switches keep forwarding (established connections are pinned in their
connection tables) until it comes back.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from finsy import Controller, P4Schema
from google.protobuf import text_format

from controller.api import ApiError, ApiServer
from controller.config import ConfigError, LbConfig, load_config
from controller.fabric import SwitchFabric
from controller.health import HealthMonitor
from controller.http import HttpFrontend
from controller.management import Management
from controller.observe import Observer
from controller.state import LbState

LOG = logging.getLogger("lbd")
DEFAULT_CONFIG = "/etc/p4lb/lb.yaml"


async def serve(config: LbConfig, config_path: Path, stop: asyncio.Event,
                reload: asyncio.Event) -> None:
    """Run the controller until ``stop`` is set; re-apply ``config_path`` on ``reload``."""
    lock = asyncio.Lock()
    state = LbState(config)
    fabric = SwitchFabric(config, state, lock)
    management = Management(state, fabric, lock)
    monitor = HealthMonitor(state, lock, fabric.sync)
    observer = Observer(management, state, fabric.agents)
    api = ApiServer(config.api, {**management.handlers(), "observe": observer.snapshot},
                    HttpFrontend(config.api, observer.snapshot, observer.metrics))
    await api.start()
    try:
        async with Controller([agent.switch for agent in fabric.agents]):
            tasks = [asyncio.create_task(fabric.housekeeping(), name="housekeeping"),
                     asyncio.create_task(monitor.run(), name="health"),
                     asyncio.create_task(_reload_on(reload, config_path, management),
                                         name="reload")]
            await stop.wait()
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
    finally:
        await api.close()


async def _reload_on(reload: asyncio.Event, path: Path, management: Management) -> None:
    """SIGHUP: apply the config file again, as ``lbctl config apply`` does (all or nothing)."""
    while True:
        await reload.wait()
        reload.clear()
        try:
            result = await management.config_apply({"yaml": path.read_text(),
                                                    "path": str(path.resolve())})
        except (OSError, ValueError) as err:
            LOG.error("reload of %s refused, nothing changed:\n%s", path, err)
        else:
            LOG.info("reloaded %s: %s", path, result["switches"])


async def _main(config: LbConfig, config_path: Path) -> None:
    stop, reload = asyncio.Event(), asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    loop.add_signal_handler(signal.SIGHUP, reload.set)
    await serve(config, config_path, stop, reload)


def check_pipeline(config: LbConfig) -> None:
    """The pipeline files exist and parse (a bad file would stop every switch agent)."""
    pipeline = config.pipeline
    missing = [str(p) for p in (pipeline.p4info, pipeline.bmv2_json) if not p.is_file()]
    if missing:
        raise ConfigError([f"pipeline: file not found: {p}" for p in missing])
    problems = []
    try:
        P4Schema(pipeline.p4info)
    except (text_format.ParseError, ValueError, OSError, UnicodeDecodeError) as err:
        problems.append(f"pipeline.p4info: {pipeline.p4info} is not a P4Info: {err}")
    try:
        json.loads(pipeline.bmv2_json.read_bytes())
    except (ValueError, OSError) as err:
        problems.append(f"pipeline.bmv2_json: {pipeline.bmv2_json} is not JSON: {err}")
    if problems:
        raise ConfigError(problems)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lbd", description="P4 load-balancer controller.")
    parser.add_argument("-c", "--config", default=DEFAULT_CONFIG,
                        help="YAML configuration (default %(default)s; docs/config.md)")
    parser.add_argument("--check", action="store_true",
                        help="validate the configuration and exit")
    parser.add_argument("--log-level", default="INFO",
                        choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = load_config(args.config)
        check_pipeline(config)
    except ConfigError as err:
        print(f"lbd: invalid configuration {args.config}:", file=sys.stderr)
        for problem in err.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    if args.check:
        print(f"{args.config}: ok ({len(config.services)} services, "
              f"{len(config.switches)} switches)")
        return 0
    try:
        asyncio.run(_main(config, Path(args.config)))
    except ApiError as err:
        print(f"lbd: {err}", file=sys.stderr)
        return 1
    except OSError as err:
        print(f"lbd: management API: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

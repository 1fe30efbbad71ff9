"""lbd: the load-balancer controller daemon.

Reads the YAML config (exit 2 with every problem listed if it is invalid), then runs,
on one asyncio loop: a finsy Controller with one agent per switch, the housekeeping task,
the server monitor (health checks), the management API and, with ``ha``, the follower of
the primary's changes (docs/ha.md).  SIGTERM or SIGINT stop it
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
from controller.l7.syncookies import MAX_SECRET, MIN_SECRET, SynCookies
from controller.management import Management
from controller.observe import Observer
from controller.replication import Replication
from controller.state import LbState

LOG = logging.getLogger("lbd")
DEFAULT_CONFIG = "/etc/p4lb/lb.yaml"


async def serve(config: LbConfig, config_path: Path, stop: asyncio.Event,
                reload: asyncio.Event) -> None:
    """Run the controller until ``stop`` is set; re-apply ``config_path`` on ``reload``."""
    lock = asyncio.Lock()
    state = LbState(config)
    fabric = SwitchFabric(config, state, lock, SynCookies(cookie_secret(config)))
    management = Management(state, fabric, lock)
    replication = Replication(config, state, fabric, lock, management.handlers())
    monitor = HealthMonitor(state, lock, fabric.sync)
    observer = Observer(management, state, fabric.agents)
    api = ApiServer(config.api, {**replication.handlers(), "observe": observer.snapshot},
                    HttpFrontend(config.api, observer.snapshot, observer.metrics))
    await api.start()
    try:
        async with Controller([agent.switch for agent in fabric.agents]):
            tasks = [asyncio.create_task(fabric.housekeeping(), name="housekeeping"),
                     asyncio.create_task(monitor.run(), name="health"),
                     asyncio.create_task(replication.follow(), name="follow"),
                     asyncio.create_task(_reload_on(reload, config_path, replication),
                                         name="reload")]
            await stop.wait()
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
    finally:
        await api.close()


async def _reload_on(reload: asyncio.Event, path: Path, replication: Replication) -> None:
    """SIGHUP: apply the config file again, as ``lbctl config apply`` does (all or nothing;
    refused on a backup)."""
    while True:
        await reload.wait()
        reload.clear()
        try:
            result = await replication.change("config.apply", {"yaml": path.read_text(),
                                                               "path": str(path.resolve())})
        except (OSError, ValueError, ApiError) as err:
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


def cookie_secret(config: LbConfig) -> bytes | None:
    """The SYN-cookie secret every instance shares (ha.cookie_secret_file), None for a
    random one of this process's own."""
    path = config.ha.cookie_secret_file if config.ha is not None else None
    if path is None:
        return None
    try:
        secret = path.read_bytes().strip()
    except OSError as err:
        raise ConfigError([f"ha.cookie_secret_file: {path}: {err.strerror or err}"]) from err
    if not MIN_SECRET <= len(secret) <= MAX_SECRET:
        raise ConfigError([f"ha.cookie_secret_file: {path} must hold {MIN_SECRET} to "
                           f"{MAX_SECRET} bytes, it holds {len(secret)}"])
    return secret


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
        cookie_secret(config)
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

"""The demo: the virtual plant, the live twins and the web service in one process.

``Demo.start()`` runs the virtual bioreactor (a fault scenario, accelerated) served over OPC UA
on 127.0.0.1, the runtime that keeps its twin live from the historian (SQLite by default), and
returns the FastAPI app to serve, whose plant control carries actions out on the virtual plant.
Demo users, one per role, are created (or their passwords reset) so their logins can be printed;
each creation or reset is in the audit trail (record type ``user``, by ``demo``, never the
password).
"""

from __future__ import annotations

import secrets
import socket
import threading
import warnings
from dataclasses import dataclass, field

from fastapi import FastAPI

from pharmatwin.core.actions import Action
from pharmatwin.equipment.bioreactor.scenario import load_scenario
from pharmatwin.gmp.audit import AuditTrail
from pharmatwin.gmp.permissions import ROLES
from pharmatwin.gmp.signatures import Signatures
from pharmatwin.gmp.users import UserStore
from pharmatwin.gmp.versions import VersionStore
from pharmatwin.runtime.asset import load_asset
from pharmatwin.runtime.plant_config import PlantConfig
from pharmatwin.runtime.plant_server import VirtualPlantServer
from pharmatwin.runtime.runner import Runtime
from pharmatwin.runtime.versioned_twin import UnapprovedConfigurationWarning
from pharmatwin.service.app import create_app
from pharmatwin.service.context import ServiceContext
from pharmatwin.service.settings import ServiceSettings

DEMO_SCENARIO = "aeration-failure"
"""The sparger fouls at 72 h; the twin warns of lactate, titre and viability failures."""

DEMO_ACTOR = "demo"
"""Who creates the demo accounts, in the audit trail."""

DEMO_SPEED = 2880.0
"""Two batch days per minute: the fault after ~1.5 min, the twin's alarm about a minute later,
the 14-day batch in 7 minutes."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _Plant:
    """The service's plant control over the in-process virtual plant."""

    def __init__(self, server: VirtualPlantServer, asset: str) -> None:
        self.server = server
        self.asset = asset

    def _check(self, asset: str) -> None:
        if asset != self.asset:
            raise ValueError(f"asset: the demo's virtual plant has only {self.asset}")

    def set_setpoint(self, asset: str, name: str, value: float) -> float:
        self._check(asset)
        action = Action(name=f"{name} setpoint {value:g}", kind="setpoint", input=name, value=value)
        return self.server.carry_out(action)

    def apply(self, asset: str, action: Action) -> float:
        self._check(asset)
        return self.server.carry_out(action)


@dataclass
class Demo:
    """Everything the demo runs; ``start()`` then ``stop()``."""

    db_url: str
    scenario: str = DEMO_SCENARIO
    speed: float = DEMO_SPEED
    members: int = 100
    logins: dict[str, str] = field(default_factory=dict)
    server: VirtualPlantServer | None = None
    runtime: Runtime | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _poller: threading.Thread | None = None
    _gmp: list[AuditTrail | UserStore] = field(default_factory=list)

    def start(self) -> FastAPI:
        self._users()
        scenario = load_scenario(self.scenario)
        url = f"opc.tcp://127.0.0.1:{free_port()}/pharmatwin/"
        asset = load_asset("br01")
        asset = asset.model_copy(
            update={"twin": asset.twin.model_copy(update={"members": self.members})}
        )
        self.server = server = VirtualPlantServer(scenario, url, speed=self.speed)
        server.start()
        config = PlantConfig.model_validate(
            {
                "sources": [{"name": "plant", "kind": "opcua", "url": url}],
                "assets": [
                    {
                        "asset": asset,
                        "source": "plant",
                        "batch": {
                            "id": server.batch_id,
                            "start_utc": server.start_utc.isoformat(),
                        },
                    }
                ],
            }
        )
        entry = config.assets[0]
        self.runtime = runtime = Runtime(config, self.db_url, versions=self._versions())
        with warnings.catch_warnings():  # development mode: the versions used become drafts
            warnings.simplefilter("ignore", UnapprovedConfigurationWarning)
            runtime.start()
        self._poller = threading.Thread(
            target=runtime.run, args=(self._stop, 0.5), name="runtime", daemon=True
        )
        self._poller.start()
        context = ServiceContext(self.db_url, runtime, _Plant(server, entry.asset.name))
        return create_app(ServiceSettings(db=self.db_url), context)

    def stop(self) -> None:
        self._stop.set()
        if self._poller is not None:
            self._poller.join(timeout=30)
        if self.runtime is not None:
            self.runtime.stop()
        if self.server is not None:
            self.server.stop()
        for store in self._gmp:
            store.close()
        self._gmp.clear()

    def _versions(self) -> VersionStore:
        """The version store the runtime records the twin's configuration and recipe in (the
        batch and its forecasts name the versions used)."""
        users, audit = UserStore(self.db_url), AuditTrail(self.db_url)
        self._gmp += [audit, users]
        return VersionStore(
            self.db_url, audit=audit, signatures=Signatures(users=users, audit=audit)
        )

    def _users(self) -> None:
        """One demo user per role, named after it, with a fresh random password (each
        creation or reset in the audit trail)."""
        with UserStore(self.db_url) as users, AuditTrail(self.db_url) as trail:
            for role in ROLES:
                password = f"{role}-{secrets.token_urlsafe(9)}"
                before = users.get(role)
                if before is None:
                    user = users.add(role, role, password)
                    action, old = "create", None
                else:
                    users.set_role(role, role)
                    user = users.set_password(role, password)
                    action, old = "change", {"role": before.role, "active": before.active}
                trail.append(
                    user=DEMO_ACTOR,
                    action=action,
                    record_type="user",
                    record_id=role,
                    old=old,
                    new={"role": user.role, "active": user.active, "password": "set (random)"},
                    reason="demo start: one demo account per role with a fresh random password",
                )
                self.logins[role] = password

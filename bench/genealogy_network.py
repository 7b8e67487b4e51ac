"""A synthetic supply network for the genealogy benchmark: a monoclonal-antibody plant from raw
materials to filled vials, as ``BulkData`` rows plus the same graph as Python dicts.

Per finished lot: one formulated bulk (one in 20 lots is filled from two bulks: a mixed lot),
each bulk from one or two drug-substance batches; each batch has a media preparation (6 of 12
media components), a bioreactor run, three buffer preparations (3 of 8 salts each) and a
purification; formulation adds two excipients; filling adds vial, stopper and seal lots and
fills ``vials`` vials. A raw-material lot (1 to 8 drums or bags) feeds 10 to 30 steps in a row
(first in, first out), each using the whole lot or one drum; a packaging lot feeds 5 to 15
fills. Quantities are plausible, not calibrated.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from pharmatwin.gmp.genealogy_bulk import ActualRow, BulkData, ContainerRow, LotRow, StepRow

START = datetime(2026, 1, 5, tzinfo=UTC)
MEDIA = [f"RM{k:02d}" for k in range(1, 13)]
SALTS = [f"BS{k:02d}" for k in range(1, 9)]
EXCIPIENTS = ["EX-SUCROSE", "EX-PS80"]
PACKAGING = ["PK-VIAL", "PK-STOPPER", "PK-SEAL"]
INTERMEDIATES = {"MEDIA": "L", "BUFFER": "L", "HARVEST": "L", "DS": "g", "BULK": "L"}
EQUIPMENT = [
    ("MP-1", "media prep vessel 1", "vessel"),
    ("BP-1", "buffer prep vessel 1", "vessel"),
    *[(f"BR-{k}", f"2000 L bioreactor {k}", "bioreactor") for k in range(1, 5)],
    ("PUR-1", "chromatography skid 1", "chromatography skid"),
    ("PUR-2", "chromatography skid 2", "chromatography skid"),
    ("FV-1", "formulation vessel 1", "vessel"),
    ("FL-1", "filling line 1", "filling line"),
    ("FL-2", "filling line 2", "filling line"),
]


@dataclass
class Network:
    """The rows to import and the graph for the Python baseline (keys ``L:id``, ``C:id``)."""

    lots: list[LotRow] = field(default_factory=list)
    containers: list[ContainerRow] = field(default_factory=list)
    steps: list[StepRow] = field(default_factory=list)
    consumed: list[ActualRow] = field(default_factory=list)
    produced: list[ActualRow] = field(default_factory=list)
    raw_lots: list[str] = field(default_factory=list)
    finished_containers: list[str] = field(default_factory=list)

    def data(self) -> BulkData:
        """The rows as one import."""
        materials = [(m, f"media component {m}", "raw", "kg") for m in MEDIA]
        materials += [(m, f"buffer salt {m}", "raw", "kg") for m in SALTS]
        materials += [(m, m.removeprefix("EX-").lower(), "raw", "kg") for m in EXCIPIENTS]
        materials += [(m, m.removeprefix("PK-").lower(), "packaging", "ea") for m in PACKAGING]
        materials += [(m, m.lower(), "intermediate", u) for m, u in INTERMEDIATES.items()]
        materials.append(("DP", "mAb 100 mg/mL vial", "finished", "vial"))
        return BulkData(
            materials,
            EQUIPMENT,
            self.lots,
            self.containers,
            self.steps,
            self.consumed,
            self.produced,
        )


class _Supply:
    """Lots of one raw or packaging material used first in, first out."""

    def __init__(self, net: Network, rng: random.Random, material: str, uses: tuple[int, int]):
        self.net, self.rng, self.material, self.uses = net, rng, material, uses
        self.count = self.left = 0
        self.lot, self.drums = "", list[str]()
        self.unit = "ea" if material.startswith("PK-") else "kg"

    def take(self, step_id: str, quantity: float) -> None:
        if self.left == 0:
            self.count += 1
            self.left = self.rng.randint(*self.uses)
            self.lot = f"{self.material}-L{self.count:04d}"
            drums = self.rng.randint(1, 8)
            kind = "box" if self.unit == "ea" else "drum"
            self.net.lots.append((self.lot, self.material, quantity * 40, self.unit, "released"))
            self.net.raw_lots.append(self.lot)
            self.drums = [f"{self.lot}-D{k}" for k in range(1, drums + 1)]
            for drum in self.drums:
                self.net.containers.append((drum, self.lot, kind, quantity * 40 / drums, self.unit))
        self.left -= 1
        if self.rng.random() < 0.5:
            self.net.consumed.append((step_id, "lot", self.lot, quantity, self.unit))
        else:
            drum = self.rng.choice(self.drums)
            self.net.consumed.append((step_id, "container", drum, quantity, self.unit))


def build(finished: int, vials: int, seed: int = 7) -> Network:
    """The network of ``finished`` finished lots of ``vials`` vials each."""
    rng = random.Random(seed)
    net = Network()
    supply = {m: _Supply(net, rng, m, (10, 30)) for m in MEDIA + SALTS + EXCIPIENTS}
    supply |= {m: _Supply(net, rng, m, (5, 15)) for m in PACKAGING}
    clock = [START]
    counter = [0]

    def step(segment: str, batch: str, equipment: str, hours: float) -> str:
        counter[0] += 1
        step_id = f"{segment.upper().replace(' ', '')}-{counter[0]:06d}"
        begin = clock[0]
        clock[0] += timedelta(hours=hours / 4)  # steps of different batches overlap
        net.steps.append(
            (step_id, segment, batch, equipment, begin, begin + timedelta(hours=hours))
        )
        return step_id

    def lot(material: str, step_id: str, quantity: float) -> str:
        lot_id = f"{material}-{step_id.rsplit('-', maxsplit=1)[-1]}"
        unit = INTERMEDIATES[material]
        net.lots.append((lot_id, material, quantity, unit, "released"))
        net.produced.append((step_id, "lot", lot_id, quantity, unit))
        return lot_id

    def drug_substance(batch: str) -> str:
        prep = step("media prep", batch, "MP-1", 8)
        for material in rng.sample(MEDIA, 6):
            supply[material].take(prep, 5.0)
        media = lot("MEDIA", prep, 2000.0)
        run = step("production", batch, f"BR-{rng.randint(1, 4)}", 336)
        net.consumed.append((run, "lot", media, 2000.0, "L"))
        harvest = lot("HARVEST", run, 1900.0)
        purify = step("purification", batch, f"PUR-{rng.randint(1, 2)}", 48)
        net.consumed.append((purify, "lot", harvest, 1900.0, "L"))
        for _ in range(3):
            prep_buffer = step("buffer prep", batch, "BP-1", 4)
            for material in rng.sample(SALTS, 3):
                supply[material].take(prep_buffer, 2.0)
            net.consumed.append((purify, "lot", lot("BUFFER", prep_buffer, 500.0), 500.0, "L"))
        return lot("DS", purify, 5000.0)

    for f in range(1, finished + 1):
        fin_lot = f"DP-{f:05d}"
        net.lots.append((fin_lot, "DP", float(vials), "vial", "released"))
        bulks = 2 if rng.random() < 0.05 else 1
        filled = 0
        for b in range(bulks):
            batch = f"B{f:05d}{'ab'[b]}"
            form = step("formulation", batch, "FV-1", 6)
            for _ in range(rng.choice((1, 2))):
                net.consumed.append((form, "lot", drug_substance(batch), 2500.0, "g"))
            for material in EXCIPIENTS:
                supply[material].take(form, 1.5)
            bulk = lot("BULK", form, 25.0)
            fill = step("fill", batch, f"FL-{rng.randint(1, 2)}", 10)
            net.consumed.append((fill, "lot", bulk, 25.0, "L"))
            count = vials // bulks if b < bulks - 1 else vials - filled
            for material in PACKAGING:
                supply[material].take(fill, float(count))
            _fill(net, fill, fin_lot, filled, count)
            filled += count
    return net


def _fill(net: Network, fill: str, fin_lot: str, first: int, count: int) -> None:
    add_container: Callable[[ContainerRow], None] = net.containers.append
    add_produced: Callable[[ActualRow], None] = net.produced.append
    for k in range(first + 1, first + count + 1):
        vial = f"{fin_lot}-V{k:05d}"
        add_container((vial, fin_lot, "vial", 1.0, "mL"))
        add_produced((fill, "container", vial, 1.0, "mL"))
        net.finished_containers.append(vial)

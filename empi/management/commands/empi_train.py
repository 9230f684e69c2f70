"""`manage.py empi_train`: the matcher's parameters trained on the stored records, kept as a new version."""

from __future__ import annotations

import math
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from empi import services
from empi.matching.training import parameters_train
from empi.models import PatientRecord

MINIMUM_RECORDS = 2  # a pair at least; useful parameters need thousands


class Command(BaseCommand):
    help = ("Train the matcher's parameters from every stored patient record (u from random pairs, "
            "m by EM per blocking rule), store them as the next version and, unless --no-activate, "
            "make them the ones feeds score with. Prints the version and, per field, m and u of "
            "exact agreement with the weight they give.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=0, help="seed of the pair sampling")
        parser.add_argument("--max-pairs", type=int, default=300_000,
                            help="random pairs sampled for u (a tenth as many per rule for m)")
        parser.add_argument("--no-activate", action="store_true",
                            help="store the version without making it the active one")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        records = [record.demographics() for record in PatientRecord.objects.order_by("pk").iterator(
            chunk_size=5_000)]
        if len(records) < MINIMUM_RECORDS:
            raise CommandError(f"{len(records)} records stored: training needs at least {MINIMUM_RECORDS}")
        parameters = parameters_train(records, seed=options["seed"], max_pairs=options["max_pairs"])
        stored = services.parameters_store(parameters=parameters, activate=not options["no_activate"])
        self.stdout.write(self.style.SUCCESS(
            f"Stored match parameters v{stored.version} ({parameters.version}), "
            f"{'active' if stored.active else 'not active'}: trained on {len(records)} records "
            f"in {time.monotonic() - started:.1f} s, prior {parameters.prior:.3g}."))
        self.stdout.write(f"{'field':<14}{'m exact':>10}{'u exact':>12}{'weight':>9}")
        for field, m in parameters.m.items():
            u = parameters.u[field]
            self.stdout.write(f"{field:<14}{m[0]:>10.4f}{u[0]:>12.3g}{math.log2(m[0] / u[0]):>+9.2f}")

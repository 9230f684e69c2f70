"""`manage.py empi_link`: an initial load of patient records from a CSV file, linked in one batch."""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from empi import services
from empi.bulk import LoadRow, records_load
from empi.matching.record import demographics
from empi.selectors import authority_find
from organisations.models import AssigningAuthority

COLUMNS = ["authority", "identifier", "given", "family", "birth_date", "sex", "street", "city",
           "postcode", "phone"]


class Command(BaseCommand):
    help = ("Link an initial load of patient records. The CSV file (UTF-8) has a header row naming "
            "its columns: authority (the assigning authority's OID, CX-4.2), identifier (the MRN, "
            "CX-1), given, family, birth_date (YYYYMMDD), sex (F, M, O, U), street, city, postcode, "
            "phone. Only authority and identifier are required. Into an empty EMPI the rows are "
            "linked in one batch: records whose pairs score at or above the link threshold share a "
            "person (never two records of one authority: that pair, like a pair between the "
            "thresholds, opens a review item), and are written in bulk. Into an EMPI holding "
            "records already, or with --one-by-one, each row is matched as an ITI-8 feed would be; "
            "a record known already is updated. Prints the counts and the rows per second.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("csv_file", type=Path, help="the CSV file to load")
        parser.add_argument("--source", default="initial load",
                            help="the sender named in the link history and the audit trail")
        parser.add_argument("--one-by-one", action="store_true",
                            help="match each row as a feed, in file order, instead of in one batch "
                                 "(about 60 rows/s)")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["csv_file"]
        try:
            handle = path.open(newline="", encoding="utf-8-sig")
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from exc
        counts = {"new": 0, "linked": 0, "updated": 0, "reviews": 0, "skipped": 0}
        authorities: dict[str, AssigningAuthority | None] = {}
        started = time.monotonic()
        rows = 0
        loads: list[LoadRow] = []
        with handle:
            reader = csv.DictReader(handle)
            missing = {"authority", "identifier"} - set(reader.fieldnames or ())
            if missing:
                raise CommandError(f"the header row lacks {', '.join(sorted(missing))}; "
                                   f"the columns are {', '.join(COLUMNS)}")
            for number, row in enumerate(reader, start=2):
                rows += 1
                oid, identifier = (row.get("authority") or "").strip(), (row.get("identifier") or "").strip()
                if oid not in authorities:
                    authorities[oid] = authority_find(universal_id=oid) if oid else None
                authority = authorities[oid]
                if authority is None or not identifier:
                    # The line number only: no patient data in the command's output.
                    self.stderr.write(f"line {number}: skipped, "
                                      f"{'unknown authority' if identifier else 'no identifier'}")
                    counts["skipped"] += 1
                    continue
                value = {c: (row.get(c) or "").strip() for c in COLUMNS[2:]}
                who = demographics(given=value["given"], family=value["family"],
                                   birth_date=value["birth_date"], sex=value["sex"],
                                   street=value["street"], city=value["city"],
                                   postcode=value["postcode"], phone=value["phone"])
                loads.append(LoadRow(authority=authority, identifier=identifier, demographics=who,
                                     raw={c: (row.get(c) or "") for c in COLUMNS}))
        fed: list[services.FeedResult] = []
        if options["one_by_one"]:
            fed = [services.record_feed(authority=r.authority, identifier=r.identifier,
                                        demographics=r.demographics, raw=r.raw,
                                        source=options["source"], transaction_name="ITI-8")
                   for r in loads]
        else:
            loaded = records_load(rows=loads, source=options["source"])
            counts["new"], counts["linked"] = loaded.persons, loaded.linked
            counts["reviews"] = loaded.reviews
            fed = loaded.fed
            if loaded.blocks_skipped:
                self.stdout.write(f"{loaded.blocks_skipped} blocks of more than the block limit "
                                  f"skipped ({loaded.pairs_skipped} pairs)")
        for result in fed:
            counts[result.outcome] += 1
            counts["reviews"] += result.review is not None
        elapsed = time.monotonic() - started
        self.stdout.write(self.style.SUCCESS(
            f"{rows} rows in {elapsed:.1f} s ({rows / elapsed if elapsed else 0:.0f} rows/s): "
            f"{counts['new']} new persons, {counts['linked']} linked to a known person, "
            f"{counts['updated']} updated, {counts['reviews']} review items opened, "
            f"{counts['skipped']} skipped."))

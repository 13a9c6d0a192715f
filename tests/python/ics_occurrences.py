"""Independent reader for `mule cal export --ics` files, used by tests/it/cal.rs.

Parses the file with the `icalendar` package, checks that every TZID has a VTIMEZONE whose
observances give the same UTC offsets as the IANA database (zoneinfo) over the file's years,
then expands the events with `recurring-ical-events` between two ISO 8601 instants and prints
one JSON line per occurrence: {"uid", "start", "end", "all_day"}, sorted.

usage: ics_occurrences.py FILE FROM TO
"""

import datetime
import json
import sys
import zoneinfo

import icalendar
import recurring_ical_events


def check_zones(calendar, years):
    zones = {str(tz["TZID"]): tz for tz in calendar.walk("VTIMEZONE")}
    for event in calendar.walk("VEVENT"):
        start = event["DTSTART"]
        tzid = start.params.get("TZID")
        if tzid is not None and tzid not in zones:
            sys.exit(f"TZID {tzid} has no VTIMEZONE")
    for name, component in zones.items():
        ours = component.to_tz()
        theirs = zoneinfo.ZoneInfo(name)
        for year in years:
            for month in range(1, 13):
                for day in (1, 15):
                    for hour in (0, 12):
                        wall = datetime.datetime(year, month, day, hour)
                        a = wall.replace(tzinfo=ours).utcoffset()
                        b = wall.replace(tzinfo=theirs).utcoffset()
                        if a != b:
                            sys.exit(f"VTIMEZONE {name} gives {a} at {wall}, zoneinfo {b}")


def main():
    path, start, end = sys.argv[1], sys.argv[2], sys.argv[3]
    with open(path, "rb") as file:
        calendar = icalendar.Calendar.from_ical(file.read())
    start = datetime.datetime.fromisoformat(start)
    end = datetime.datetime.fromisoformat(end)
    check_zones(calendar, range(start.year, end.year + 1))
    lines = []
    for event in recurring_ical_events.of(calendar).between(start, end):
        first, last = event["DTSTART"].dt, event["DTEND"].dt
        all_day = not isinstance(first, datetime.datetime)
        lines.append(
            {
                "uid": str(event["UID"]),
                "start": first.isoformat(),
                "end": last.isoformat(),
                "all_day": all_day,
            }
        )
    lines.sort(key=lambda o: (o["start"], o["uid"]))
    for line in lines:
        print(json.dumps(line))


if __name__ == "__main__":
    main()

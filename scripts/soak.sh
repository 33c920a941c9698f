#!/bin/sh
# The soak (scripts/soak.py): `halyard run` under ten boats' load through a Mosquitto outage.
#   scripts/soak.sh [--quick] [--boats N] [--outage SECONDS] …   (see scripts/soak.py --help)
exec python3 "$(dirname "$0")/soak.py" "$@"

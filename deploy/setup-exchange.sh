#!/usr/bin/env bash
# nbgrader's shared-folder exchange for one course, with the permissions it relies on (run as root):
#
#     deploy/setup-exchange.sh /srv/nbgrader/exchange mlp-2025-spring grader-mlp
#
# - the exchange root: everyone may create in it, but the sticky bit (1777) keeps anyone from
#   renaming or deleting a folder they do not own;
# - the course's folder, created now and owned by the grader account, so no student can claim the
#   course's name before the first release. nbgrader's release then creates in it outbound/ (0755,
#   what students fetch), inbound/ (2733: students drop submissions but cannot list them) and
#   feedback/ (0711: a student reads only the page whose unguessable name they know).
set -euo pipefail
if [ $# -ne 3 ]; then
    echo "usage: $0 EXCHANGE_ROOT COURSE_ID GRADER_ACCOUNT" >&2
    exit 2
fi
root="$1" course="$2" grader="$3"
install -d -m 1777 "$root"
install -d -m 0755 -o "$grader" -g "$(id -gn "$grader")" "$root/$course"
stat -c '%A %U %n' "$root" "$root/$course"

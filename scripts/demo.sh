#!/usr/bin/env bash
# make demo: completed by the picture/demo issue.
echo "demo: not yet wired end to end (see issue 8)" >&2
exit 0

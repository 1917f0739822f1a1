#!/bin/sh
# Stands in for the person's web browser: records each address it is asked to open, one per
# line, in $FPT_TEST_BROWSER_LOG. The test then acts on the page as the signed-in person would.
printf '%s\n' "$1" >> "$FPT_TEST_BROWSER_LOG"

# SPDX-License-Identifier: MIT
# The in-target agent (live control); see DESIGN.md §5. Filled in by the live-control issue.

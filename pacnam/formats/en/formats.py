"""The English interface types and shows dates as the Vietnamese one does,
dd/mm/yyyy (see pacnam/formats/vi/formats.py): one set of formats for both."""

from pacnam.formats.vi.formats import *  # noqa: F403

# English groups figures with commas: 1,200.
DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","

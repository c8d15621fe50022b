"""Date formats of the registry, the same in both interface languages (settings.
FORMAT_MODULE_PATH): dates are typed and shown as dd/mm/yyyy, the way the
registry's records and Vietnamese documents write them, whatever the language
chosen or the browser's. Django's own English formats would read 05/04/2019 as
4 May in every form, the admin's included."""

from pacnam.lib.dates import DATE_INPUT_FORMATS as _DATES

DATE_FORMAT = "d/m/Y"
SHORT_DATE_FORMAT = "d/m/Y"
DATETIME_FORMAT = "d/m/Y H:i"
SHORT_DATETIME_FORMAT = "d/m/Y H:i"
TIME_FORMAT = "H:i"
YEAR_MONTH_FORMAT = "m/Y"
MONTH_DAY_FORMAT = "d/m"
FIRST_DAY_OF_WEEK = 1  # Monday
DATE_INPUT_FORMATS = list(_DATES)
TIME_INPUT_FORMATS = ["%H:%M", "%H:%M:%S"]
DATETIME_INPUT_FORMATS = [f"{d} {t}" for d in _DATES for t in ("%H:%M:%S", "%H:%M")] + list(_DATES)
# Figures grouped the Vietnamese way, 1.200 and 5.000 (intcomma; the forms keep
# their digits ungrouped, USE_THOUSAND_SEPARATOR being off).
DECIMAL_SEPARATOR = ","
THOUSAND_SEPARATOR = "."
NUMBER_GROUPING = 3

# Arabic formats chosen on purpose for a citation archive: Western digits
# (Django never converts digits), a decimal point rather than Django's default
# decimal comma for "ar", and no right-to-left marks inside dates, so a copied
# date pastes cleanly into any citation manager.
DATE_FORMAT = "j F Y"
DATETIME_FORMAT = "j F Y، H:i"
MONTH_DAY_FORMAT = "j F"
YEAR_MONTH_FORMAT = "F Y"
SHORT_DATE_FORMAT = "Y-m-d"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
TIME_FORMAT = "H:i"
FIRST_DAY_OF_WEEK = 6  # Saturday
DATE_INPUT_FORMATS = ["%Y-%m-%d", "%d/%m/%Y"]
DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3

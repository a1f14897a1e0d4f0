# One way to show a date and one to show a date and time on every page, in the admin and
# in messages: "Sat 5 Dec 2026" and "Sat 5 Dec 2026, 19:30" (the agency's wall clock; each
# page says which zone). settings.FORMAT_MODULE_PATH puts these before Django's own English
# formats ("Dec. 5, 2026"), which would otherwise win over settings.DATE_FORMAT.
DATE_FORMAT = "D j M Y"
DATETIME_FORMAT = "D j M Y, H:i"
SHORT_DATE_FORMAT = DATE_FORMAT
SHORT_DATETIME_FORMAT = DATETIME_FORMAT

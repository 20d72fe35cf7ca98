from finance.admin import books, dues, ledger, members, mpesa, savings  # noqa: F401  (registers the ModelAdmins)

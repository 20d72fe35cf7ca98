from finance.admin import books, dues, ledger, loans, members, mpesa, savings  # noqa: F401  (registers the ModelAdmins)

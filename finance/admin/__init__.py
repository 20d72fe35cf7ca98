from finance.admin import backdating, books, dues, ledger, loans, members, mpesa, savings  # noqa: F401  (registers the ModelAdmins)

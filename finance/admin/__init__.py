from finance.admin import backdating, books, dues, ledger, loans, members, mpesa, rosca, savings  # noqa: F401  (registers the ModelAdmins)

from finance.admin import backdating, books, cycles, dues, ledger, loans, members, mpesa, rosca, savings  # noqa: F401  (registers the ModelAdmins)

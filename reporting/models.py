"""Reporting keeps no data of its own: the back office's "Financial statements" list hangs on a
proxy of the chamas' policies (one per chama), a row per chama with its statements to download."""

from groups.models import Policy


class FinancialStatement(Policy):
    class Meta:
        proxy = True
        verbose_name = "chama's financial statements"
        verbose_name_plural = "financial statements"

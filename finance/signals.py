"""Signals of the money app.

`journal_posted` is sent once for every journal the ledger posts, after its transaction commits
(never for one rolled back), with `sender=Journal` and `journal=` the posted journal. Receipts
listen to it (`finance.receivers`); another app connects its own receiver in its AppConfig.ready():

    from finance.signals import journal_posted

    def on_posted(sender, journal, **kwargs): ...

    journal_posted.connect(on_posted, dispatch_uid="myapp.on_posted")

Balances never depend on a receiver: they are moved inside the posting itself.
"""

from django.dispatch import Signal

journal_posted = Signal()
